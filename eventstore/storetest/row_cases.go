package storetest

import (
	"errors"
	"testing"

	"github.com/cardledger/cardledger/eventstore"
)

// RowTable is the table the RowAppender cases insert their rows into. An
// adapter that implements eventstore.RowAppender creates it with
// RowTableDDL in the store's database before handing the store to Run.
const RowTable = "storetest_rows"

// RowTableDDL creates RowTable: a key under a unique constraint and a note.
const RowTableDDL = `CREATE TABLE IF NOT EXISTS storetest_rows (key text PRIMARY KEY, note text NOT NULL)`

// rows is the store's RowAppender; the case is skipped for an adapter
// without one, since the interface is optional.
func rows(t *testing.T, f *fixture) eventstore.RowAppender {
	t.Helper()
	r, ok := f.Store.(eventstore.RowAppender)
	if !ok {
		t.Skip("store does not implement eventstore.RowAppender")
	}
	return r
}

// row is a row of RowTable under the case's own key name.
func (f *fixture) row(key, note string) eventstore.Row {
	return eventstore.Row{Table: RowTable, Columns: []string{"key", "note"}, Values: []any{f.prefix + key, note}}
}

// The row goes with the events; a second row under its key then proves
// it is stored, and that append writes nothing.
func testRowWrittenWithEvents(t *testing.T, f *fixture) {
	r := rows(t, f)
	s, other := f.stream("with-row"), f.stream("same-key")
	events := newEvents(2, "WithRow")
	res, written, err := r.AppendWithRow(f.ctx, s, eventstore.NoStream(), events, f.row("k", "first"))
	if err != nil || !written {
		t.Fatalf("AppendWithRow: written %v, %v; want written", written, err)
	}
	stored := f.mustReadStream(t, s, 0, 0)
	if len(stored) != 2 || stored[1].ID != events[1].ID {
		t.Fatalf("%s holds %d events, want the 2 appended", s, len(stored))
	}
	if want := (eventstore.AppendResult{Revision: 1, Position: stored[1].Position}); res != want {
		t.Errorf("result %+v, want %+v", res, want)
	}

	_, written, err = r.AppendWithRow(f.ctx, other, eventstore.NoStream(), newEvents(1, "Other"), f.row("k", "second"))
	if !errors.Is(err, eventstore.ErrRowConflict) || errors.Is(err, eventstore.ErrWrongRevision) || written {
		t.Fatalf("AppendWithRow under a stored key: written %v, %v; want ErrRowConflict", written, err)
	}
	if _, err := f.ReadStream(f.ctx, other, 0, 0); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Errorf("ReadStream(%s) after the conflicting row: %v, want ErrStreamNotFound", other, err)
	}
}

// A conflicting row on an existing stream leaves the stream as it was,
// and the stream takes the same events with a free key afterwards.
func testRowConflictWritesNothing(t *testing.T, f *fixture) {
	r := rows(t, f)
	taken, s := f.stream("taken"), f.stream("existing")
	if _, _, err := r.AppendWithRow(f.ctx, taken, eventstore.NoStream(), newEvents(1, "Taken"), f.row("k", "taken")); err != nil {
		t.Fatalf("AppendWithRow: %v", err)
	}
	f.mustAppend(t, s, eventstore.NoStream(), newEvents(1, "Before"))
	events := newEvents(2, "After")
	_, _, err := r.AppendWithRow(f.ctx, s, eventstore.Exact(0), events, f.row("k", "again"))
	if !errors.Is(err, eventstore.ErrRowConflict) {
		t.Fatalf("AppendWithRow under a stored key: %v, want ErrRowConflict", err)
	}
	if got := f.mustReadStream(t, s, 0, 0); len(got) != 1 {
		t.Fatalf("%s holds %d events after the conflicting row, want 1", s, len(got))
	}
	res, written, err := r.AppendWithRow(f.ctx, s, eventstore.Exact(0), events, f.row("free", "free"))
	if err != nil || !written || res.Revision != 2 {
		t.Fatalf("AppendWithRow with a free key: %+v written %v, %v; want revision 2 written", res, written, err)
	}
}

// A failed expectation writes no row: the key stays free.
func testRowNotWrittenOnWrongRevision(t *testing.T, f *fixture) {
	r := rows(t, f)
	s, other := f.stream("existing"), f.stream("other")
	f.mustAppend(t, s, eventstore.NoStream(), newEvents(1, "Before"))
	_, written, err := r.AppendWithRow(f.ctx, s, eventstore.NoStream(), newEvents(1, "Late"), f.row("k", "late"))
	var wrong *eventstore.WrongRevisionError
	if !errors.As(err, &wrong) || written {
		t.Fatalf("AppendWithRow at a wrong revision: written %v, %v; want *WrongRevisionError", written, err)
	}
	if got := f.mustReadStream(t, s, 0, 0); len(got) != 1 {
		t.Errorf("%s holds %d events, want 1", s, len(got))
	}
	if _, written, err := r.AppendWithRow(f.ctx, other, eventstore.NoStream(), newEvents(1, "Other"), f.row("k", "other")); err != nil || !written {
		t.Fatalf("AppendWithRow under the key the failed append carried: written %v, %v; want written", written, err)
	}
}

// A retry of an append with a row is Append's idempotent retry: the
// original result, nothing written, no conflict with its own row.
func testRowIdempotentRetry(t *testing.T, f *fixture) {
	r := rows(t, f)
	s := f.stream("retried")
	events := newEvents(2, "Retried")
	first, written, err := r.AppendWithRow(f.ctx, s, eventstore.NoStream(), events, f.row("k", "retried"))
	if err != nil || !written {
		t.Fatalf("AppendWithRow: written %v, %v", written, err)
	}
	again, written, err := r.AppendWithRow(f.ctx, s, eventstore.NoStream(), events, f.row("k", "retried"))
	want := first
	want.Retried = again.Retried || eventstore.ReportsRetry(f.Store, eventstore.NoStream())
	if err != nil || written || again != want {
		t.Fatalf("retried AppendWithRow: %+v written %v, %v; want %+v, not written", again, written, err, want)
	}
	if got := f.mustReadStream(t, s, 0, 0); len(got) != 2 {
		t.Errorf("%s holds %d events after the retry, want 2", s, len(got))
	}
}
