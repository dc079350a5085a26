package audit

import (
	"sync"
	"testing"
	"time"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/testpg"
)

// Three instances (own pools, one database) each tick RunDigests' loop:
// one digest per interval is signed among them, whether they tick at once
// or one after the other, and the next one once the interval has passed.
func TestOneDigestPerIntervalAcrossInstances(t *testing.T) {
	e := newEnv(t)
	e.appendN("cardholder-a", 5, domain.Actor{Client: "counter"}, "10.0.0.1")
	e.project()
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var instances []*Digester
	for range 3 {
		d := NewDigester(testpg.NewPool(t, e.pool.Config().ConnString()), e.store, e.key)
		d.now = clock
		instances = append(instances, d)
	}
	digests := func() int {
		var n int
		if err := e.pool.QueryRow(e.ctx, "SELECT count(*) FROM audit.digests").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	tick := func(together bool) {
		var wg sync.WaitGroup
		for _, d := range instances {
			wg.Add(1)
			do := func() {
				defer wg.Done()
				if _, err := d.CreateIfDue(e.ctx, time.Hour); err != nil {
					t.Error(err)
				}
			}
			if together {
				go do()
			} else {
				do()
			}
		}
		wg.Wait()
	}
	for _, step := range []struct {
		after    time.Duration
		together bool
		want     int
	}{
		{0, true, 1},                 // the first tick of all three at once
		{0, false, 1},                // one after the other
		{30 * time.Minute, true, 1},  // within the interval
		{25 * time.Minute, false, 2}, // 55 min after the first: due (ticks jitter)
		{20 * time.Minute, true, 2},
		{40 * time.Minute, true, 3},
	} {
		mu.Lock()
		now = now.Add(step.after)
		mu.Unlock()
		tick(step.together)
		if got := digests(); got != step.want {
			t.Fatalf("at %s: %d digests, want %d", clock().Format(time.TimeOnly), got, step.want)
		}
	}
}
