package pgstore

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/testpg"
)

// Cases beyond the conformance suite: what a stored event id means when the
// append is not an exact retry.
func TestAppendWithStoredIDs(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	a, b, c := event("A"), event("B"), event("C")
	first, err := s.Append(ctx, "card-1", eventstore.NoStream(), []eventstore.EventData{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "card-1", eventstore.Exact(1), []eventstore.EventData{c}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		stream   string
		expected eventstore.ExpectedRevision
		events   []eventstore.EventData
		check    func(t *testing.T, res eventstore.AppendResult, err error)
	}{
		{"retry after the stream moved on returns the original result", "card-1", eventstore.NoStream(), []eventstore.EventData{a, b},
			func(t *testing.T, res eventstore.AppendResult, err error) {
				want := first
				want.Retried = true
				if err != nil || res != want {
					t.Errorf("= %+v, %v; want %+v", res, err, want)
				}
			}},
		{"retry at another expected revision is a wrong revision", "card-1", eventstore.Exact(0), []eventstore.EventData{a, b},
			func(t *testing.T, _ eventstore.AppendResult, err error) {
				var wre *eventstore.WrongRevisionError
				if !errors.As(err, &wre) || wre.Actual != 2 || !wre.ActualExists {
					t.Errorf("err = %v, want wrong revision, stream at 2", err)
				}
			}},
		{"ids in another stream", "card-2", eventstore.Any(), []eventstore.EventData{a, b},
			wantErr(eventstore.ErrDuplicateEventID)},
		{"ids in another order", "card-1", eventstore.Any(), []eventstore.EventData{b, a},
			wantErr(eventstore.ErrDuplicateEventID)},
		{"part of the ids stored", "card-1", eventstore.Any(), []eventstore.EventData{c, event("D")},
			wantErr(eventstore.ErrDuplicateEventID)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.Append(ctx, tc.stream, tc.expected, tc.events)
			tc.check(t, res, err)
		})
	}
	got, err := s.ReadStream(ctx, "card-1", 0, 0)
	if err != nil || len(got) != 3 {
		t.Errorf("card-1 has %d events (%v), want the 3 first written", len(got), err)
	}
	if _, err := s.ReadStream(ctx, "card-2", 0, 0); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Errorf("card-2: %v, want not found", err)
	}
}

func wantErr(target error) func(*testing.T, eventstore.AppendResult, error) {
	return func(t *testing.T, _ eventstore.AppendResult, err error) {
		t.Helper()
		if !errors.Is(err, target) {
			t.Errorf("err = %v, want %v", err, target)
		}
	}
}

func TestAppendRefusesEmptyAndNilIDs(t *testing.T) {
	s, _ := openTest(t)
	for name, events := range map[string][]eventstore.EventData{
		"no events": nil,
		"nil id":    {event("A"), {Type: "NoID", Data: []byte(`{}`)}},
	} {
		if _, err := s.Append(t.Context(), "card-1", eventstore.Any(), events); err == nil {
			t.Errorf("%s: append succeeded", name)
		}
	}
	if _, err := s.ReadStream(t.Context(), "card-1", 0, 0); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Errorf("stream written: %v", err)
	}
}

func TestMigrateIsIdempotentAndTableAppendOnly(t *testing.T) {
	s, url := openTest(t)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	again, err := Open(t.Context(), url)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer again.Close()
	if _, err := again.Append(t.Context(), "card-1", eventstore.NoStream(), []eventstore.EventData{event("A")}); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`UPDATE eventstore_events SET type = 'B'`,
		`DELETE FROM eventstore_events`,
		`TRUNCATE eventstore_events`,
	} {
		if _, err := s.pool.Exec(t.Context(), sql); err == nil {
			t.Errorf("%s: allowed", sql)
		}
	}
	if got, err := s.ReadStream(t.Context(), "card-1", 0, 0); err != nil || len(got) != 1 || got[0].Type != "A" {
		t.Errorf("events changed: %+v, %v", got, err)
	}
}

// The append plans its statements once per connection even on a pool
// that keeps the server's plan_cache_mode (one shared with the read
// models): appendSQL, planned generic from the start (genericPlanSQL),
// and appendHashedSQL, whose generic plan PostgreSQL picks by itself after
// its first five custom ones. It leaves that setting as it found it for
// the pool's other users.
func TestAppendReusesItsGenericPlanOnASharedPool(t *testing.T) {
	ctx := t.Context()
	cfg, err := pgxpool.ParseConfig(testpg.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1 // every statement on the connection the test inspects
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s, err := OpenPool(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	// More than the five custom plans after which PostgreSQL weighs the
	// generic one. New streams: appendHashedSQL.
	const appends, customFirst = 12, 5
	for i := range appends {
		if _, err := s.Append(ctx, fmt.Sprintf("card-%d", i), eventstore.NoStream(), []eventstore.EventData{event("A")}); err != nil {
			t.Fatal(err)
		}
	}
	// Any: appendSQL, twice.
	for range 2 {
		if _, err := s.Append(ctx, "card-any", eventstore.Any(), []eventstore.EventData{event("A")}); err != nil {
			t.Fatal(err)
		}
	}
	plans := func(stmt string) (generic, custom int64) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0)
			FROM pg_prepared_statements WHERE statement = $1`, stmt).Scan(&generic, &custom); err != nil {
			t.Fatal(err)
		}
		return generic, custom
	}
	if generic, custom := plans(appendSQL); generic != 2 || custom != 0 {
		t.Errorf("appendSQL: %d generic and %d custom plans, want 2 generic and no custom", generic, custom)
	}
	if generic, custom := plans(appendHashedSQL); generic != appends-customFirst || custom != customFirst {
		t.Errorf("appendHashedSQL: %d generic and %d custom plans, want %d generic after %d custom",
			generic, custom, appends-customFirst, customFirst)
	}
	var mode string
	if err := pool.QueryRow(ctx, `SELECT current_setting('plan_cache_mode')`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "auto" {
		t.Errorf("plan_cache_mode after appends = %q, want the server's auto", mode)
	}
}
