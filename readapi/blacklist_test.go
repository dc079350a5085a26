package readapi_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/readapi"
)

func TestBlacklistConsumerMayReadTheBlacklistAndNothingElse(t *testing.T) {
	h := newHarness(t)
	h.seed(5, seed.HistoryOptions{})
	h.run()
	h.caughtUp()
	param := regexp.MustCompile(`\{[a-z_]+\}`)
	for _, r := range h.api.Routes() {
		if len(r.Roles) == 0 {
			continue // public: /metrics, /readyz
		}
		path := param.ReplaceAllString(r.Path, "B00000001")
		status, _, body := h.get(keyConsumer, path)
		if strings.HasPrefix(r.Path, "/v1/blacklist/") {
			require.Equal(t, http.StatusOK, status, "%s %s: %s", r.Method, path, body)
		} else {
			require.Equal(t, http.StatusForbidden, status, "%s %s: %s", r.Method, path, body)
		}
		status, _, _ = h.get("", path)
		require.Equal(t, http.StatusUnauthorized, status, path)
	}
	var e readapi.BlacklistEntry
	h.getJSON(keyCounter, "/v1/blacklist/B00000001", http.StatusOK, &e)
	require.True(t, e.Listed)
	require.Equal(t, "lost", e.Reason)
	var notListed readapi.BlacklistEntry
	h.getJSON(keyConsumer, "/v1/blacklist/B00000002", http.StatusOK, &notListed)
	require.Equal(t, readapi.BlacklistEntry{CardNo: "B00000002"}, notListed)
}

func TestReadYourWrites(t *testing.T) {
	h := newHarness(t)
	h.seed(6, seed.HistoryOptions{})
	h.run()
	h.caughtUp()
	stream, _ := seed.Lifecycle(seed.HistoryKey, 5, false)

	pos := h.appendEvents(stream, domain.CardReportedLost{CardNo: "B00000005"})
	var e readapi.BlacklistEntry
	h.getJSON(keyConsumer, "/v1/blacklist/B00000005?min_position="+pos.String(), http.StatusOK, &e)
	require.True(t, e.Listed, "a loss is visible to the next read that names its position")
	var card readapi.Card
	h.getJSON(keyCounter, "/v1/cards/B00000005?min_position="+pos.String(), http.StatusOK, &card)
	require.Equal(t, "lost", card.Status)

	h.stop()
	h.api.WithMaxWait(300 * time.Millisecond) // no request is in flight
	pos = h.appendEvents(stream, domain.CardUnlocked{CardNo: "B00000005", Lifted: domain.StatusLost})
	status, ctype, body := h.get(keyCounter, "/v1/cards/B00000005?min_position="+pos.String())
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Equal(t, httpapi.ProblemContentType, ctype)
	require.Contains(t, string(body), `"code":"projection_behind"`)

	status, _, body = h.get(keyCounter, "/v1/cards/B00000005?min_position=nonsense")
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, string(body), `"code":"invalid_position"`)
}

// consumer applies blacklist pages the way a POS terminal would.
type consumer struct {
	h      *harness
	listed map[string]string // card → status part of the reason
	after  int64
}

func (c *consumer) fromSnapshot() {
	var snap readapi.Snapshot
	c.h.getJSON(keyConsumer, "/v1/blacklist/snapshot", http.StatusOK, &snap)
	c.listed = map[string]string{}
	for _, e := range snap.Entries {
		c.listed[e.CardNo] = e.Reason
	}
	c.after = snap.Seq
}

// page applies one page; it reports how many changes it had.
func (c *consumer) page(wait string) int {
	var p readapi.Changes
	c.h.getJSON(keyConsumer, fmt.Sprintf("/v1/blacklist/changes?after=%d&limit=37&wait=%s", c.after, wait), http.StatusOK, &p)
	for _, ch := range p.Changes {
		require.Equal(c.h.t, c.after+1, ch.Seq, "seqs are contiguous and in order")
		switch ch.Op {
		case "add":
			c.listed[ch.CardNo] = ch.Reason
		case "remove":
			delete(c.listed, ch.CardNo)
		}
		c.after = ch.Seq
	}
	require.Equal(c.h.t, c.after, p.Next)
	return len(p.Changes)
}

func (c *consumer) statuses() map[string]string {
	out := map[string]string{}
	for card, reason := range c.listed {
		status, _, _ := strings.Cut(reason, ":")
		out[card] = status
	}
	return out
}

// TestBlacklistFeedConverges: writers change many cards at once, the
// projection is restarted (another instance takes over) in the middle, and
// a consumer paging from seq 0 and one starting from a snapshot midway both
// end with exactly the blacklist the event history says.
func TestBlacklistFeedConverges(t *testing.T) {
	h := newHarness(t)
	// Persons whose seeded card ends active: i%5 == 0, not stopped early.
	var persons []int
	for i := 0; len(persons) < 48; i++ {
		if i%5 == 0 && i%17 != 0 {
			persons = append(persons, i)
		}
	}
	for _, i := range persons {
		stream, events := seed.Lifecycle(seed.HistoryKey, i, false)
		h.appendEvents(stream, events...)
	}
	h.run()

	from0 := &consumer{h: h, listed: map[string]string{}}
	var snapshotted *consumer
	const writers, opsPerWriter = 6, 40
	var wg sync.WaitGroup
	var ops sync.WaitGroup
	ops.Add(writers * opsPerWriter / 2)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			type card struct {
				stream, no string
				status     domain.CardStatus
				before     domain.CardStatus
			}
			var mine []*card
			for k, i := range persons {
				if k%writers == w {
					stream, _ := seed.Lifecycle(seed.HistoryKey, i, false)
					mine = append(mine, &card{stream: stream, no: fmt.Sprintf("B%08d", i), status: domain.StatusActive})
				}
			}
			for n := range opsPerWriter {
				c := mine[rng.IntN(len(mine))]
				var e domain.Event
				switch {
				case c.status == domain.StatusActive && rng.IntN(3) == 0:
					e, c.before, c.status = domain.CardTemporarilyLost{CardNo: c.no}, c.status, domain.StatusTemporarilyLost
				case c.status == domain.StatusActive && rng.IntN(2) == 0:
					e, c.before, c.status = domain.CardReportedLost{CardNo: c.no}, c.status, domain.StatusLost
				case c.status == domain.StatusActive:
					e, c.before, c.status = domain.CardCancelled{CardNo: c.no, Cause: domain.CauseRequest, From: c.status}, c.status, domain.StatusCancelled
				case c.status == domain.StatusCancelled:
					e, c.status = domain.CardCancellationRestored{CardNo: c.no, To: c.before}, c.before
				case rng.IntN(4) == 0:
					e, c.before, c.status = domain.CardCancelled{CardNo: c.no, Cause: domain.CauseOther, From: c.status}, c.status, domain.StatusCancelled
				default:
					e, c.status = domain.CardUnlocked{CardNo: c.no, Lifted: c.status}, c.before
				}
				h.appendEvents(c.stream, e)
				if n < opsPerWriter/2 {
					ops.Done()
				}
			}
		}()
	}

	// Consume while writing; halfway, restart the projection elsewhere and
	// start a second consumer from a snapshot.
	halfway := make(chan struct{})
	go func() { ops.Wait(); close(halfway) }()
	restarted := false
	for !restarted {
		from0.page("200ms")
		select {
		case <-halfway:
			h.stop()
			second := h.newRunner()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = second.Run(ctx) }()
			t.Cleanup(func() { cancel(); <-done })
			snapshotted = &consumer{h: h}
			snapshotted.fromSnapshot()
			restarted = true
		default:
		}
	}
	for i := 0; i < 5; i++ {
		from0.page("100ms")
		snapshotted.page("100ms")
	}
	wg.Wait()
	h.caughtUp()
	for from0.page("0s") > 0 {
	}
	for snapshotted.page("0s") > 0 {
	}

	want := h.expectedBlacklist()
	require.NotEmpty(t, want)
	require.Equal(t, want, from0.statuses())
	require.Equal(t, want, snapshotted.statuses())
	late := &consumer{h: h}
	late.fromSnapshot()
	require.Equal(t, want, late.statuses())
	require.Equal(t, from0.after, late.after)
}

func TestLongPollWakesOnAChange(t *testing.T) {
	h := newHarness(t)
	h.seed(3, seed.HistoryOptions{})
	h.run()
	h.caughtUp()
	c := &consumer{h: h}
	c.fromSnapshot()
	stream, _ := seed.Lifecycle(seed.HistoryKey, 0, false)
	go func() {
		time.Sleep(300 * time.Millisecond)
		h.appendEvents(stream, domain.CardTemporarilyLost{CardNo: "B00000000"})
	}()
	start := time.Now()
	require.Equal(t, 1, c.page("10s"))
	require.Less(t, time.Since(start), 2*time.Second, "the waiting poll returns as soon as the change is stored")
	require.Equal(t, "temporarily_lost", c.listed["B00000000"])
}
