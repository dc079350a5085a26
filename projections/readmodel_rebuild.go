package projections

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/cardledger/cardledger/eventstore"
)

// Storage implements SchemaProjection: the read model owns its whole schema.
//
// Blacklist seqs survive a rebuild: they are numbered by replaying the same
// log in the same order, so the rebuilt feed has the same seqs as the live
// one, and consumers keep their position. (If the blacklist rules changed
// in between, consumers should start again from a snapshot.)
func (m *ReadModel) Storage() SchemaStorage {
	return SchemaStorage{Pool: m.pool, Schema: m.schema, DDL: schemaDDL, Indexes: indexDDL}
}

// In implements SchemaProjection.
func (m *ReadModel) In(schema string, shadow bool) SchemaProjection {
	return &ReadModel{pool: m.pool, schema: schema, bulk: shadow}
}

// ApplyTx implements SchemaProjection.
func (m *ReadModel) ApplyTx(ctx context.Context, tx pgx.Tx, batch []eventstore.RecordedEvent) error {
	return m.applyTx(ctx, tx, batch)
}
