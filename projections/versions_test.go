package projections_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/projections/readmodel"
)

// storedLine is one line of the version 1 log that commands'
// TestWriteV1Fixture wrote to domain/testdata.
type storedLine struct {
	Stream   string          `json:"stream"`
	ID       uuid.UUID       `json:"id"`
	Type     string          `json:"type"`
	Data     json.RawMessage `json:"data"`
	Metadata json.RawMessage `json:"metadata"`
}

func readV1Log(t *testing.T) []storedLine {
	t.Helper()
	f, err := os.Open("../domain/testdata/v1_lifecycle.jsonl")
	require.NoError(t, err)
	defer f.Close()
	var out []storedLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l storedLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l))
		out = append(out, l)
	}
	require.NoError(t, sc.Err())
	return out
}

// atCurrentVersion is the version 1 event l as today's writers would store
// it: decoded (and upcast) by the codec, encoded again, the new version in
// its metadata.
func atCurrentVersion(t *testing.T, l storedLine) storedLine {
	t.Helper()
	v, err := domain.StoredSchemaVersion(l.Metadata)
	require.NoError(t, err)
	require.Equal(t, 1, v, "the fixture is the version 1 log")
	e, err := domain.DecodeEvent(l.Type, 1, l.Data)
	require.NoError(t, err)
	typ, data, err := domain.EncodeEvent(e)
	require.NoError(t, err)
	var md domain.Metadata
	require.NoError(t, json.Unmarshal(l.Metadata, &md))
	md.SchemaVersion = domain.SchemaVersion(typ)
	l.Data = data
	l.Metadata, err = json.Marshal(md)
	require.NoError(t, err)
	return l
}

// projectLog appends the log to a fresh store, runs the read model over it,
// checks that a rebuild gives the same rows and returns them without
// positions (which differ from store to store).
func projectLog(t *testing.T, log []storedLine) map[string][]string {
	t.Helper()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, l := range log {
		res, err := e.store.Append(ctx, l.Stream, eventstore.Any(),
			[]eventstore.EventData{{ID: l.ID, Type: l.Type, Data: l.Data, Metadata: l.Metadata}})
		require.NoError(t, err)
		e.noteAppended(res.Position)
	}
	r := e.runner()
	stop := e.start(t, r)
	e.waitCaughtUp(t, r)
	live := dumpWithoutPositions(t, e.pool)
	stop()
	_, err := r.Rebuild(ctx, readmodel.Name)
	require.NoError(t, err)
	require.Equal(t, live, dumpWithoutPositions(t, e.pool), "rebuild")
	return live
}

func dumpWithoutPositions(t *testing.T, pool *pgxpool.Pool) map[string][]string {
	t.Helper()
	const strip = " - 'pos_commit' - 'pos_prepare'"
	tables := map[string]string{
		"checkpoint":        "SELECT last_seq::text FROM readmodel.checkpoint",
		"cardholders":       "SELECT (to_jsonb(t) - 'state')::text || convert_from(state, 'UTF8') FROM readmodel.cardholders t ORDER BY stream",
		"cards":             "SELECT to_jsonb(t)::text FROM readmodel.cards t ORDER BY card_no",
		"steps":             "SELECT (to_jsonb(t)" + strip + ")::text FROM readmodel.steps t ORDER BY pos_commit, pos_prepare",
		"blacklist":         "SELECT to_jsonb(t)::text FROM readmodel.blacklist t ORDER BY card_no",
		"blacklist_changes": "SELECT (to_jsonb(t)" + strip + ")::text FROM readmodel.blacklist_changes t ORDER BY seq",
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

// The read model of a log mixing version 1 and version 2 events, live and
// rebuilt, equals the one of the same history written at version 2 only.
func TestReadModelOfMixedVersionsEqualsCurrentVersionOnly(t *testing.T) {
	v1 := readV1Log(t)
	var mixed, current []storedLine
	revocations := 0
	for _, l := range v1 {
		now := atCurrentVersion(t, l)
		current = append(current, now)
		if l.Type == "ECardRevoked" {
			revocations++
			// The second, whose cause the final state shows, stays at
			// version 1; the first is at version 2.
			if revocations == 1 {
				l = now
			}
		}
		mixed = append(mixed, l)
	}
	require.Equal(t, 2, revocations)
	versions := map[int]int{}
	for _, l := range mixed {
		if l.Type == "ECardRevoked" {
			v, err := domain.StoredSchemaVersion(l.Metadata)
			require.NoError(t, err)
			versions[v]++
		}
	}
	require.Equal(t, map[int]int{1: 1, 2: 1}, versions, "one revocation of each version")

	want := projectLog(t, current)
	require.Len(t, want["cardholders"], 3)
	require.Contains(t, want["cardholders"][0]+want["cardholders"][1]+want["cardholders"][2], `"ECardRevokedCause":"unrecorded"`)
	require.Equal(t, want, projectLog(t, mixed))
}

// An event of a version newer than the code fails the batch (the
// projection stops there) instead of being skipped like an unknown type.
func TestReadModelStopsAtAnUnknownVersion(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream := domain.StreamFor("944ca06ac5c38727f9a41759ebf9b9a9")
	future := eventstore.EventData{ID: uuid.New(), Type: "ECardRevoked", Data: []byte(`{"card_no":"A12345678","cause":"x"}`),
		Metadata: []byte(`{"event_id":"00000000-0000-0000-0000-000000000000","schema_version":3}`)}
	res, err := e.store.Append(ctx, stream, eventstore.Any(), []eventstore.EventData{future})
	require.NoError(t, err)
	e.waitVisible(t, res.Position)
	all, err := e.store.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	require.ErrorIs(t, readmodel.New(e.pool).Apply(ctx, all), domain.ErrUnknownSchemaVersion)
	require.Equal(t, []string{"0"}, dumpWithoutPositions(t, e.pool)["checkpoint"], "the checkpoint did not move past it")
}
