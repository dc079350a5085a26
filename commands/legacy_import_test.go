package commands_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
)

func newLegacyImporter(t testing.TB) (*commands.LegacyImporter, *commands.Service, eventstore.Store) {
	t.Helper()
	store := pgstoretest.OpenURL(t, testpg.NewDatabase(t))
	clock := func() time.Time { return time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC) }
	svc, err := commands.NewService(store, testIDKey, clock)
	require.NoError(t, err)
	im, err := commands.NewLegacyImporter(svc)
	require.NoError(t, err)
	return im, svc, store
}

func outcomes(rep commands.LegacyReport) map[int]string {
	m := map[int]string{}
	for _, r := range rep.Rows {
		m[r.Line] = r.Outcome
		if len(r.Fields) > 0 {
			m[r.Line] += ":" + r.Fields[0].Field + ":" + r.Fields[0].Code
		}
	}
	return m
}

// The sample file holds every kind of bad row the migration must survive;
// the report names each line's outcome and field, and the counts reconcile.
func TestLegacyImportReportsEveryRowOfTheSample(t *testing.T) {
	im, svc, _ := newLegacyImporter(t)
	data, err := os.ReadFile("../testdata/legacy/legacy_cards_sample.csv")
	require.NoError(t, err)
	ctx := context.Background()
	env := commands.NewEnvelope(domain.Actor{Client: "test"}, "cli")
	var calls, lastDone, lastTotal int
	rep, err := im.Import(ctx, "legacy_cards_sample.csv", data, env, func(done, total int) { calls, lastDone, lastTotal = calls+1, done, total })
	require.NoError(t, err)
	require.Equal(t, map[int]string{
		2: "imported", 3: "imported", 4: "imported", 5: "imported",
		6:  "invalid:issue_date:invalid_value",
		7:  "invalid:status:invalid_value",
		8:  "conflict:card_no:card_number_taken",
		9:  "duplicate",
		10: "conflict:id_number:already_registered",
		11: "invalid:card_no:invalid_card_no",
		12: "invalid:id_number:invalid_id_number",
		13: "invalid:encoding:undecodable_line",
	}, outcomes(rep))
	require.Equal(t, "UTF-8", rep.Encoding)
	require.Equal(t, []int{12, 4, 8, 1, 2, 5}, []int{rep.Lines, rep.Imported, rep.Refused, rep.Duplicates, rep.Conflicts, rep.Invalid})
	require.True(t, rep.Reconciled)
	require.Equal(t, 12, lastDone)
	require.Equal(t, 12, lastTotal)
	require.Positive(t, calls)

	// The migrated stream starts with where it came from.
	id := rep.Rows[0].CardholderID
	loaded, err := svc.Repository.Load(ctx, id)
	require.NoError(t, err)
	require.Equal(t, &domain.Migration{SourceFile: "legacy_cards_sample.csv", SourceSHA256: rep.SHA256, Line: 2}, loaded.State.Migration)
	require.Equal(t, domain.GenerationFirst, loaded.State.Card.Generation)
	require.Equal(t, domain.StatusActive, loaded.State.Card.Status)
	owner, err := svc.CardNumbers.Resolve(ctx, "L00000001")
	require.NoError(t, err)
	require.Equal(t, id, owner)

	// The holder replaces the legacy card with a third-generation one: one valid card.
	res, err := svc.Card.Handle(ctx, commands.CardCommand{Envelope: env, CardNo: "L00000001", Command: domain.ReplaceCard{
		CardNo: "L00000001", ApplicationID: "app-gen3", Source: domain.SourceCounter, Generation: domain.GenerationThird}})
	require.NoError(t, err)
	require.Equal(t, domain.GenerationThird, res.State.Card.Generation)
	require.Equal(t, "L00000001", res.State.Card.ReplacesCardNo)
	require.Equal(t, domain.StatusCancelled, res.State.PastCards[0].Status)
}

// Importing the same file again appends nothing and reports every imported
// row as a duplicate; imported = lines - refused still holds.
func TestLegacyImportTwiceChangesNothing(t *testing.T) {
	im, _, store := newLegacyImporter(t)
	data, err := os.ReadFile("../testdata/legacy/legacy_cards_sample.csv")
	require.NoError(t, err)
	ctx := context.Background()
	env := commands.NewEnvelope(domain.Actor{Client: "test"}, "cli")
	first, err := im.Import(ctx, "a.csv", data, env, nil)
	require.NoError(t, err)
	head := allPosition(t, store)
	again, err := im.Import(ctx, "a.csv", data, env, nil)
	require.NoError(t, err)
	require.Equal(t, head, allPosition(t, store), "a re-run appended events")
	require.Equal(t, 0, again.Imported)
	require.Equal(t, first.Imported+first.Duplicates, again.Duplicates)
	require.True(t, again.Reconciled)
}

// A GB18030 file is read as GB18030; its one broken line is refused alone.
func TestLegacyImportReadsGB18030AndRefusesItsBrokenLine(t *testing.T) {
	im, svc, _ := newLegacyImporter(t)
	data, err := os.ReadFile("../testdata/legacy/legacy_cards_gb18030.csv")
	require.NoError(t, err)
	ctx := context.Background()
	rep, err := im.Import(ctx, "gb.csv", data, commands.NewEnvelope(domain.Actor{Client: "test"}, "cli"), nil)
	require.NoError(t, err)
	require.Equal(t, "GB18030", rep.Encoding)
	require.Equal(t, map[int]string{2: "imported", 3: "imported", 4: "imported", 5: "invalid:encoding:undecodable_line"}, outcomes(rep))
	loaded, err := svc.Repository.Load(ctx, rep.Rows[0].CardholderID)
	require.NoError(t, err)
	require.Equal(t, "张伟", loaded.State.Profile.Name)
	require.Equal(t, "苏州市社保中心", loaded.State.Card.Agency)
}

func TestLegacyImportRefusesAFileWithoutItsColumns(t *testing.T) {
	im, _, _ := newLegacyImporter(t)
	_, err := im.Import(context.Background(), "x.csv", []byte("a,b\n1,2\n"), commands.NewEnvelope(domain.Actor{Client: "test"}, "cli"), nil)
	require.ErrorIs(t, err, commands.ErrLegacyFile)
}

func allPosition(t *testing.T, store eventstore.Store) string {
	t.Helper()
	recs, err := store.ReadAll(context.Background(), eventstore.Start, 1_000_000)
	require.NoError(t, err)
	return recs[len(recs)-1].Position.String()
}

// POST /v1/legacy-cards/imports answers the per-row report; a file without
// its columns is a 400 problem and appends nothing; a bank may not import.
func TestLegacyImportOverHTTP(t *testing.T) {
	e := newEnv(t)
	data, err := os.ReadFile("../testdata/legacy/legacy_cards_sample.csv")
	require.NoError(t, err)
	res := e.do("POST", "/v1/legacy-cards/imports?file=cards-2009.csv", keyCounter, string(data), "Content-Type", "text/csv")
	require.Equal(t, 200, res.Status, string(res.Body))
	var rep commands.LegacyReport
	res.json(t, &rep)
	require.Equal(t, "cards-2009.csv", rep.File)
	require.Equal(t, []int{12, 4, 8}, []int{rep.Lines, rep.Imported, rep.Refused})
	require.True(t, rep.Reconciled)
	require.Equal(t, "invalid:issue_date:invalid_value", outcomes(rep)[6])

	before := e.eventCount()
	res = e.do("POST", "/v1/legacy-cards/imports", keyCounter, "a,b\n1,2\n", "Content-Type", "text/csv")
	require.Equal(t, 400, res.Status, string(res.Body))
	require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
	require.Equal(t, commands.CodeInvalidLegacyFile, res.problem(t).Code)
	require.Equal(t, before, e.eventCount())

	res = e.do("POST", "/v1/legacy-cards/imports", keyBank, string(data), "Content-Type", "text/csv")
	require.Equal(t, 403, res.Status, string(res.Body))
}

// A region-bound caller migrates only people of its region; the others are
// refused row by row, the already-known ones without saying anything about them.
func TestLegacyImportKeepsToTheCallersRegion(t *testing.T) {
	im, _, _ := newLegacyImporter(t)
	data, err := os.ReadFile("../testdata/legacy/legacy_cards_gb18030.csv")
	require.NoError(t, err)
	ctx := context.Background()
	all, err := im.Import(ctx, "gb.csv", data[:len(data)/2], commands.NewEnvelope(domain.Actor{Client: "test"}, "cli"), nil)
	require.NoError(t, err)
	require.Equal(t, "imported", outcomes(all)[2]) // 320505, now known
	env := commands.NewEnvelope(domain.Actor{Client: "wuzhong"}, "http")
	env.Scope = httpapi.Scope{Region: "320506"}
	rep, err := im.Import(ctx, "gb.csv", data, env, nil)
	require.NoError(t, err)
	require.Equal(t, map[int]string{
		2: "conflict:region_code:scope_region", // known, outside: neither duplicate nor conflict is told
		3: "imported",                          // 320506
		4: "conflict:region_code:scope_region", // 320508
		5: "invalid:encoding:undecodable_line",
	}, outcomes(rep))
	require.Empty(t, rep.Rows[0].CardholderID)
	require.True(t, rep.Reconciled)
}
