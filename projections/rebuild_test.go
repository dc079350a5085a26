package projections_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/projections"
	"github.com/cardledger/cardledger/projections/readmodel"
)

// dump reads every read-model row as JSON, in key order; the checkpoint
// without its wall-clock updated_at.
func dump(t *testing.T, pool *pgxpool.Pool) map[string][]string {
	t.Helper()
	tables := map[string]string{
		"checkpoint":        "SELECT jsonb_build_array(pos_commit, pos_prepare, last_seq)::text FROM readmodel.checkpoint",
		"cardholders":       "SELECT to_jsonb(t)::text FROM readmodel.cardholders t ORDER BY stream",
		"cards":             "SELECT to_jsonb(t)::text FROM readmodel.cards t ORDER BY card_no",
		"steps":             "SELECT to_jsonb(t)::text FROM readmodel.steps t ORDER BY pos_commit, pos_prepare",
		"blacklist":         "SELECT to_jsonb(t)::text FROM readmodel.blacklist t ORDER BY card_no",
		"blacklist_changes": "SELECT to_jsonb(t)::text FROM readmodel.blacklist_changes t ORDER BY seq",
	}
	out := map[string][]string{}
	for name, sql := range tables {
		rows, err := pool.Query(context.Background(), sql)
		require.NoError(t, err)
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			out[name] = append(out[name], s)
		}
		require.NoError(t, rows.Err())
		rows.Close()
	}
	return out
}

// A rebuild replaces the live read model with one folded from the log
// alone. Rows that drifted from the log (planted: a blacklist entry lost, a
// holder's region and a card's status edited, a stray card) are gone after
// it, and the rebuilt rows equal, row for row, those the live projection
// wrote from the same log before the drift, and the domain's own replay.
func TestRebuildEqualsLiveRowForRow(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	e.seed(t, 400, seed.HistoryOptions{})
	r := e.runner()
	e.start(t, r)
	e.waitCaughtUp(t, r)
	live := dump(t, e.pool)
	require.NotEmpty(t, live["blacklist_changes"])

	_, err := e.pool.Exec(ctx, `
		DELETE FROM readmodel.blacklist WHERE card_no = (SELECT min(card_no) FROM readmodel.blacklist);
		UPDATE readmodel.cardholders SET region_code = '999999' WHERE stream = (SELECT min(stream) FROM readmodel.cardholders);
		UPDATE readmodel.cards SET status = 'planted' WHERE card_no = (SELECT max(card_no) FROM readmodel.cards);
		CREATE TEMP TABLE stray AS SELECT * FROM readmodel.cards WHERE card_no = (SELECT min(card_no) FROM readmodel.cards);
		UPDATE stray SET card_no = 'STRAY';
		INSERT INTO readmodel.cards SELECT * FROM stray;
		DROP TABLE stray`)
	require.NoError(t, err)
	drifted := dump(t, e.pool)
	for _, table := range []string{"blacklist", "cardholders", "cards"} {
		require.NotEqual(t, live[table], drifted[table], "divergence planted in %s", table)
	}

	st, err := r.Rebuild(ctx, readmodel.Name)
	require.NoError(t, err)
	require.Greater(t, st.Events, uint64(3000))
	require.Equal(t, live, dump(t, e.pool))
	require.Equal(t, expectedBlacklist(t, e.store), tableBlacklist(t, e.pool))
}

func TestRebuildUnderConcurrentWritesLosesNothing(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	e.seed(t, 400, seed.HistoryOptions{})
	r := e.runner()
	e.start(t, r)
	e.waitCaughtUp(t, r)

	// Loss reports keep arriving while the rebuild runs and swaps.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1000; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			stream, events := seed.Lifecycle(seed.HistoryKey, i, true)
			e.appendEvents(t, stream, events...)
		}
	}()
	_, err := r.Rebuild(ctx, readmodel.Name)
	close(stop)
	wg.Wait()
	require.NoError(t, err)
	e.waitCaughtUp(t, r)
	afterLoad := dump(t, e.pool)

	// A quiet rebuild from zero must give the same rows.
	_, err = r.Rebuild(ctx, readmodel.Name)
	require.NoError(t, err)
	require.Equal(t, afterLoad, dump(t, e.pool))
	require.Equal(t, expectedBlacklist(t, e.store), tableBlacklist(t, e.pool))
}

func TestApplyStoresRowsAndCheckpointAtomically(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e.seed(t, 50, seed.HistoryOptions{Listed: true})
	all, err := e.store.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)

	m := readmodel.New(e.pool)
	// The "crash": the last statement of the transaction fails.
	_, err = e.pool.Exec(ctx, `CREATE FUNCTION crash() RETURNS trigger LANGUAGE plpgsql AS
		$$ BEGIN RAISE EXCEPTION 'simulated crash'; END $$;
		CREATE TRIGGER crash BEFORE UPDATE ON readmodel.checkpoint FOR EACH ROW EXECUTE FUNCTION crash();`)
	require.NoError(t, err)
	require.ErrorContains(t, m.Apply(ctx, all), "simulated crash")
	before := dump(t, e.pool)
	require.Empty(t, before["cardholders"])
	require.Empty(t, before["blacklist_changes"])
	require.Equal(t, []string{"[0, 0, 0]"}, before["checkpoint"])

	_, err = e.pool.Exec(ctx, "DROP TRIGGER crash ON readmodel.checkpoint")
	require.NoError(t, err)
	require.NoError(t, m.Apply(ctx, all))
	once := dump(t, e.pool)
	require.Len(t, once["cardholders"], 50)
	require.Len(t, once["blacklist"], 50)
	require.Len(t, once["blacklist_changes"], 50)

	// Applying the same events again (a retry after an unknown outcome) changes nothing.
	require.NoError(t, m.Apply(ctx, all))
	require.NoError(t, m.Apply(ctx, all[len(all)/2:]))
	require.Equal(t, once, dump(t, e.pool))
}

func TestStandbyInstanceTakesOverWhenTheActiveOneDies(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, b := e.runner(), e.runner()
	e.start(t, a)
	requireActive(t, a, true)
	e.start(t, b)

	stream, events := seed.Lifecycle(seed.HistoryKey, 1, true)
	e.appendEvents(t, stream, events...)
	e.waitCaughtUp(t, a)
	requireActive(t, b, false)

	// Kill the active instance's lock connection, as a crash would.
	var killed bool
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT bool_and(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&killed))
	require.True(t, killed)
	requireActive(t, b, true)
	requireActive(t, a, false)

	stream, events = seed.Lifecycle(seed.HistoryKey, 2, true)
	e.appendEvents(t, stream, events...)
	e.waitCaughtUp(t, b)
	require.Equal(t, map[string]string{"B00000001": "lost", "B00000002": "lost"}, tableBlacklist(t, e.pool))
}

// requireActive waits until r's view of the read model is (or is not) active.
func requireActive(t *testing.T, r *projections.Runner, want bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := r.Statuses(context.Background())
		require.NoError(t, err)
		if st[0].Active == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("projection active = %v, want %v", st[0].Active, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
