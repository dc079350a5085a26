package commands_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/internal/testpg"
)

// TestIdempotencyRecordsWaitForTheFlushOnlyForRefusals: a trigger records
// synchronous_commit as each statement on command_idempotency sees it. A
// claim, a release and a success's answer commit without waiting for the
// WAL flush; a refusal's answer (nothing in the event log to rebuild it
// from) waits; and the pooled session keeps the server's setting for the
// appends that follow on it.
func TestIdempotencyRecordsWaitForTheFlushOnlyForRefusals(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := pgxpool.ParseConfig(testpg.NewDatabase(t))
	require.NoError(t, err)
	cfg.MaxConns = 1
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on" // the test cluster's may be off
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	defer pool.Close()
	require.NoError(t, commands.Migrate(ctx, pool))
	_, err = pool.Exec(ctx, `CREATE TABLE seen (n serial, op text, sync text);
		CREATE FUNCTION record_sync() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			INSERT INTO seen (op, sync) VALUES (TG_OP || coalesce(' ' || NEW.status::text, ''), current_setting('synchronous_commit'));
			RETURN NULL;
		END $$;
		CREATE TRIGGER record_sync AFTER INSERT OR UPDATE OR DELETE ON command_idempotency
			FOR EACH ROW EXECUTE FUNCTION record_sync();`)
	require.NoError(t, err)
	idem := commands.NewIdempotency(pool, time.Minute)
	defer idem.Close()

	ok, _, err := idem.Claim(ctx, "c", "ok", []byte("h1"))
	require.NoError(t, err)
	_, err = ok.Complete(ctx, commands.StoredResponse{Status: 200, Body: []byte(`{}`)})
	require.NoError(t, err)
	refused, _, err := idem.Claim(ctx, "c", "refused", []byte("h2"))
	require.NoError(t, err)
	_, err = refused.Complete(ctx, commands.StoredResponse{Status: 409, Body: []byte(`{}`)})
	require.NoError(t, err)
	failed, _, err := idem.Claim(ctx, "c", "failed", []byte("h3"))
	require.NoError(t, err)
	require.NoError(t, failed.Release(ctx))

	var seen []string
	rows, err := pool.Query(ctx, `SELECT op || ': ' || sync FROM seen ORDER BY n`)
	require.NoError(t, err)
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		seen = append(seen, s)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []string{
		"INSERT: off", "UPDATE 200: off",
		"INSERT: off", "UPDATE 409: on",
		"INSERT: off", "DELETE: off",
	}, seen)
	var session string
	require.NoError(t, pool.QueryRow(ctx, "SELECT current_setting('synchronous_commit')").Scan(&session))
	assert.Equal(t, "on", session, "the setting is the transaction's only")
}
