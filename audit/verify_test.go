package audit

import (
	"encoding/hex"
	"testing"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore/chain"
)

var counter = domain.Actor{Client: "counter-futian", Operator: "窗口01"}

func TestVerifyIntactHistory(t *testing.T) {
	e := newEnv(t)
	e.appendN("card-1", 5, counter, "10.0.0.1")
	e.appendN("card-2", 3, counter, "10.0.0.1")
	var calls int
	r, err := Verify(e.ctx, e.store, VerifyOptions{ProgressEvery: 2, Progress: func(Progress) { calls++ }})
	if err != nil || !r.OK() || r.Events != 8 || r.Streams != 2 {
		t.Fatalf("Verify = %+v, %v; want 8 events in 2 streams, no breaks", r, err)
	}
	if calls != 5 { // after 2, 4, 6, 8 events and at the end
		t.Errorf("progress reported %d times, want 5", calls)
	}
	if r, err := Verify(e.ctx, e.store, VerifyOptions{Stream: "card-2"}); err != nil || !r.OK() || r.Events != 3 {
		t.Errorf("Verify card-2 = %+v, %v", r, err)
	}
}

func TestVerifyNamesAnAlteredEvent(t *testing.T) {
	for _, scope := range []string{"", "card-1"} {
		t.Run("stream="+scope, func(t *testing.T) {
			e := newEnv(t)
			e.appendN("card-1", 5, counter, "10.0.0.1")
			e.appendN("card-2", 2, counter, "10.0.0.1")
			e.tamper(`UPDATE eventstore_events SET data = '{"i":99}' WHERE stream = 'card-1' AND revision = 2`)
			var stored []byte
			if err := e.pool.QueryRow(e.ctx, `SELECT hash FROM eventstore_events WHERE stream = 'card-1' AND revision = 2`).Scan(&stored); err != nil {
				t.Fatal(err)
			}

			r, err := Verify(e.ctx, e.store, VerifyOptions{Stream: scope})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Breaks) != 1 {
				t.Fatalf("breaks = %v, want one", r.Breaks)
			}
			b := r.Breaks[0]
			if b.Stream != "card-1" || b.Revision != 2 || b.Kind != chain.Altered || b.Found != hex.EncodeToString(stored) || b.Want == b.Found {
				t.Errorf("break = %+v, want card-1 revision 2 altered, found the stored hash", b)
			}
		})
	}
}

func TestVerifyNamesTheGapOfADeletedEvent(t *testing.T) {
	e := newEnv(t)
	e.appendN("card-1", 5, counter, "10.0.0.1")
	e.tamper(`DELETE FROM eventstore_events WHERE stream = 'card-1' AND revision = 3`)

	r, err := Verify(e.ctx, e.store, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := chain.BreakError{Stream: "card-1", Revision: 3, Kind: chain.Gap, Want: "3", Found: "4"}
	if len(r.Breaks) != 1 || *r.Breaks[0] != want {
		t.Fatalf("report %+v: breaks = %v, want %v", r, r.Breaks, &want)
	}
	if got := r.Breaks[0].Error(); got != "stream card-1: gap at revision 3: expected revision 3, found 4" {
		t.Errorf("message = %q", got)
	}
}

func TestVerifyReportsEachBrokenStreamOnce(t *testing.T) {
	e := newEnv(t)
	e.appendN("card-1", 4, counter, "")
	e.appendN("card-2", 4, counter, "")
	e.tamper(`UPDATE eventstore_events SET type = 'Forged' WHERE stream = 'card-1' AND revision = 0`)
	e.tamper(`UPDATE eventstore_events SET metadata = '{}' WHERE stream = 'card-2' AND revision = 1`)
	r, err := Verify(e.ctx, e.store, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Breaks) != 2 || r.Breaks[0].Stream != "card-1" || r.Breaks[0].Revision != 0 ||
		r.Breaks[1].Stream != "card-2" || r.Breaks[1].Revision != 1 {
		t.Errorf("breaks = %v, want card-1@0 and card-2@1", r.Breaks)
	}
}
