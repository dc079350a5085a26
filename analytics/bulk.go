package analytics

import (
	"context"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// The bulk writers below exist for the developer tools (internal/devtools):
// load benchmarks fill ClickHouse through the projection's own columnar
// insert, so what they measure is the production write path, without
// reaching into this package's internals.

// UsageBlock buffers usage_facts rows and inserts them as one block, as the
// projection does.
type UsageBlock struct{ rows usageRows }

// Add buffers the fact of u. holder and homeCity are "" when the card is
// not known.
func (b *UsageBlock) Add(id uuid.UUID, pos eventstore.Position, u domain.UsageRecorded, holder, homeCity string) {
	b.rows.add(id, pos, factOf(u), holder, homeCity)
}

// Len is the number of buffered rows.
func (b *UsageBlock) Len() int { return b.rows.len() }

// Send inserts the buffered rows (nothing when there are none) and keeps
// them; Reset empties the block for reuse.
func (b *UsageBlock) Send(ctx context.Context, conn driver.Conn) error {
	return b.rows.send(ctx, conn, "usage_facts")
}

// Reset empties the block.
func (b *UsageBlock) Reset() { b.rows.reset() }

// InsertDirectory writes cards[i] as held by holders[i], whose home is
// homes[i] (a region code, also its home city), at version 1: the card
// directory usage facts are joined with.
func InsertDirectory(ctx context.Context, conn driver.Conn, cards, holders, homes []string) error {
	versions := make([]uint64, len(cards))
	for i := range versions {
		versions[i] = 1
	}
	if err := sendColumns(ctx, conn, `INSERT INTO cards (card_no, holder, version)`, cards, holders, versions); err != nil {
		return err
	}
	return sendColumns(ctx, conn, `INSERT INTO holders (holder, home_region, home_city, version)`, holders, homes, homes, versions)
}

// UsageColumns are the usage_facts columns in the order the projection
// inserts them (for tools that export or import the table as text).
func UsageColumns() []string {
	list := usageColumns[strings.Index(usageColumns, "(")+1 : strings.LastIndex(usageColumns, ")")]
	cols := strings.Split(list, ",")
	for i, c := range cols {
		cols[i] = strings.TrimSpace(c)
	}
	return cols
}
