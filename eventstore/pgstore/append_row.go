package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cardledger/cardledger/eventstore"
)

var _ eventstore.RowAppender = (*Store)(nil)

// AppendWithRow is Append with row inserted by the same statement, so in
// the same implicit transaction and the same round trip: rowInsert adds one
// data-modifying step to the append statement (appendSQL, or
// appendHashedSQL when the event to chain to is known) that inserts the
// row from the append's last inserted event, that is only when the events
// were written. When
// they are not (a failed expectation, an idempotent retry) the row is not
// inserted either.
//
// A unique violation is told apart by its table: on eventstore_events it
// is another writer that took the revision, and the append runs again as
// Append does (the row again with it); on the row's table it is
// eventstore.ErrRowConflict, and nothing was written.
func (s *Store) AppendWithRow(ctx context.Context, stream string, expected eventstore.ExpectedRevision,
	events []eventstore.EventData, row eventstore.Row) (eventstore.AppendResult, bool, error) {
	if err := checkAppend(stream, events); err != nil {
		return eventstore.AppendResult{}, false, err
	}
	step, err := s.rows.step(row)
	if err != nil {
		return eventstore.AppendResult{}, false, fmt.Errorf("append %s: %w", stream, err)
	}
	for attempt := 1; ; attempt++ {
		res, wrote, err := appendOnce(ctx, s.pool, &s.group, s.streams, &step, stream, expected, events)
		if err == nil {
			s.notifier.appended()
		}
		if isRowConflict(err, row.Table) {
			return eventstore.AppendResult{}, false, fmt.Errorf("append %s with a row in %s: %w: %w", stream, row.Table, eventstore.ErrRowConflict, err)
		}
		if !isUniqueViolation(err) || attempt == maxAppendAttempts {
			return res, wrote, err
		}
	}
}

// isRowConflict is a unique violation on table (a name, or schema.name).
func isRowConflict(err error, table string) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		return false
	}
	_, name, qualified := strings.Cut(table, ".")
	if !qualified {
		name = table
	}
	return pgErr.TableName == name
}

// rowStep is a row's insert as a step of both append statements: plain
// adds it to appendSQL, hashed to appendHashedSQL; values are its
// parameters, after each statement's own.
type rowStep struct {
	plain, hashed string
	shape         string // table and columns, NUL-separated (grouped appends share a shape)
	values        []any
}

// rowStatements caches the texts of a row's step per table and columns:
// building and sanitising them per call would cost more than the cache
// lookup, and the same text keeps pgx's statement cache (and the server's
// generic plan) hitting.
type rowStatements struct{ byShape sync.Map }

type rowTexts struct{ plain, hashed string }

func (c *rowStatements) step(row eventstore.Row) (rowStep, error) {
	if row.Table == "" || len(row.Columns) == 0 || len(row.Columns) != len(row.Values) {
		return rowStep{}, fmt.Errorf("row for %q: %d columns and %d values", row.Table, len(row.Columns), len(row.Values))
	}
	shape := row.Table + "\x00" + strings.Join(row.Columns, "\x00")
	t, ok := c.byShape.Load(shape)
	if !ok {
		t = rowTexts{
			plain:  appendCTEs + rowInsert(row.Table, row.Columns, appendParams) + appendAnswer,
			hashed: appendHashedCTEs + rowInsert(row.Table, row.Columns, appendHashedParams) + appendHashedResult,
		}
		c.byShape.Store(shape, t)
	}
	texts := t.(rowTexts)
	return rowStep{plain: texts.plain, hashed: texts.hashed, shape: shape, values: row.Values}, nil
}

// rowInsert is the step INSERT INTO table (columns) SELECT $n+1, ... FROM
// last, for a statement taking n parameters of its own. PostgreSQL runs a
// data-modifying WITH step whether or not the answer reads it, and infers
// each parameter's type from its column.
func rowInsert(table string, columns []string, n int) string {
	cols := make([]string, len(columns))
	params := make([]string, len(columns))
	for i, c := range columns {
		cols[i] = pgx.Identifier{c}.Sanitize()
		params[i] = "$" + strconv.Itoa(n+1+i)
	}
	return `, row_ins AS (
	INSERT INTO ` + pgx.Identifier(strings.Split(table, ".")).Sanitize() + ` (` + strings.Join(cols, ", ") + `)
	SELECT ` + strings.Join(params, ", ") + ` FROM last
)`
}
