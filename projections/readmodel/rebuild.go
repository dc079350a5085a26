package readmodel

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/cardledger/cardledger/eventstore"

	"github.com/cardledger/cardledger/projections"
)

// Storage implements projections.SchemaProjection: the read model owns its whole schema.
//
// Blacklist seqs survive a rebuild: they are numbered by replaying the same
// log in the same order, so the rebuilt feed has the same seqs as the live
// one, and consumers keep their position. (If the blacklist rules changed
// in between, consumers should start again from a snapshot.)
func (m *Model) Storage() projections.SchemaStorage {
	return projections.SchemaStorage{Pool: m.pool, Schema: m.schema, DDL: schemaDDL, Indexes: indexDDL}
}

// In implements projections.SchemaProjection.
func (m *Model) In(schema string, shadow bool) projections.SchemaProjection {
	return &Model{pool: m.pool, schema: schema, bulk: shadow}
}

// ApplyTx implements projections.SchemaProjection.
func (m *Model) ApplyTx(ctx context.Context, tx pgx.Tx, batch []eventstore.RecordedEvent) error {
	return m.applyTx(ctx, tx, batch)
}
