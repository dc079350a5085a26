package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/domain"
)

// HTTP drives a running cardledger server over HTTP the way a bank or
// counter client does: bearer key, Idempotency-Key on every command, JSON
// bodies. What it measures therefore includes everything a client waits
// for: HTTP, authentication, rate limiting, the idempotency record, the
// command (load, decide, seal personal data, chain, append) and the answer.
type HTTP struct {
	BaseURL string // e.g. http://127.0.0.1:8080
	Key     string // an API key whose role may register, issue, report losses and read the blacklist (admin)
	Client  *http.Client
	// Progress, if set, gets Phase/Add/Finish calls for the set-up and the
	// timed run.
	Progress Progress

	lost sync.Map // card → true while the bench left it temporarily lost
}

// Progress is how long runs report how far they are (seed.Progress fits).
type Progress interface {
	Phase(name string, total int)
	Add(n int)
	Finish()
}

type noProgress struct{}

func (noProgress) Phase(string, int) {}
func (noProgress) Add(int)           {}
func (noProgress) Finish()           {}

func (h *HTTP) progress() Progress {
	if h.Progress == nil {
		return noProgress{}
	}
	return h.Progress
}

func (h *HTTP) client() *http.Client {
	if h.Client != nil {
		return h.Client
	}
	return http.DefaultClient
}

// NewHTTPClient is a client with enough idle connections per host for
// concurrency workers (net/http keeps 2 by default, and a worker without
// an idle connection would open a new one per request).
func NewHTTPClient(concurrency int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 4 * (concurrency + 4)
	t.MaxIdleConnsPerHost = 2 * (concurrency + 4)
	return &http.Client{Transport: t, Timeout: 60 * time.Second}
}

// call sends one request with a JSON body (nil: none) and decodes a 2xx
// answer into out (nil: discard). It returns the status; a non-2xx status
// is an error carrying the problem's body.
func (h *HTTP) call(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(h.BaseURL, "/")+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+h.Key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", uuid.NewString())
	}
	resp, err := h.client().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// commandAnswer is the part of a command's answer the bench reads.
type commandAnswer struct {
	CardholderID string `json:"cardholder_id"`
	CardNo       string `json:"card_no"`
	Position     string `json:"position"`
}

// SetUpCards registers n cardholders through the API and instantly issues
// each an active card, with concurrency clients; it returns the card
// numbers. ID numbers are random (region 320508), so runs against the same
// database do not collide; the rare collision is retried with another.
// This set-up is not part of any measurement.
func (h *HTTP) SetUpCards(ctx context.Context, n, concurrency int) ([]string, error) {
	if n <= 0 || concurrency <= 0 {
		return nil, errors.New("bench: cards and concurrency must be positive")
	}
	cards := make([]string, n)
	p := h.progress()
	p.Phase("set up active cards over HTTP", n)
	defer p.Finish()
	err := parallel(ctx, n, concurrency, func(ctx context.Context, i int) error {
		for try := 0; ; try++ {
			var reg commandAnswer
			idNumber, sex := randomIDNumber()
			status, err := h.call(ctx, http.MethodPost, "/v1/cardholders", map[string]string{
				"id_number": idNumber, "name": fmt.Sprintf("压测%d", i), "sex": sex, "nationality": "CHN",
				"region_code": "320508", "phone": "13800000000", "employer_code": "E001", "community_code": "C001",
			}, &reg)
			if status == http.StatusConflict && try < 3 {
				continue // that ID number is registered already
			}
			if err != nil {
				return fmt.Errorf("bench set-up: register: %w", err)
			}
			var issued commandAnswer
			if _, err := h.call(ctx, http.MethodPost, "/v1/cardholders/"+reg.CardholderID+"/instant-issuance", map[string]string{
				"bank_code": "102", "account_no": fmt.Sprintf("62122602%011d", rand.Int64N(1e11)),
				"chip_id": strings.ToUpper(strings.ReplaceAll(uuid.NewString(), "-", "")),
			}, &issued); err != nil {
				return fmt.Errorf("bench set-up: instant issuance: %w", err)
			}
			cards[i] = issued.CardNo
			p.Add(1)
			return nil
		}
	})
	if err != nil {
		return nil, err
	}
	return cards, nil
}

// randomIDNumber is a valid ID number of region 320508 born 1940–2005,
// and the sex its 17th digit says (odd: male).
func randomIDNumber() (idNumber, sex string) {
	birth := time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rand.IntN(65*365))
	seq := rand.IntN(1000)
	first := fmt.Sprintf("320508%s%03d", birth.Format("20060102"), seq)
	sex = "female"
	if seq%2 == 1 {
		sex = "male"
	}
	return first + string(domain.IDCheckChar(first)), sex
}

// HTTPResult summarises an HTTP load run.
type HTTPResult struct {
	Commands  int // answered 2xx
	Rejected  int // answered 4xx: on the hot card, a loss of a card already lost and the like
	Errors    int // 5xx or no answer
	FirstErr  error
	Elapsed   time.Duration
	PerSecond float64 // 2xx answers per second
	P50       time.Duration
	P99       time.Duration
	P999      time.Duration
	Max       time.Duration
	// Visibility is from a loss's 2xx answer to a feed consumer
	// long-polling /v1/blacklist/changes seeing the card added.
	Visibility Latencies
	Unseen     int   // losses the feed consumer had not seen 5 s after the run
	FeedErr    error // why the feed consumer stopped early, if it did
}

// Latencies is a latency distribution.
type Latencies struct {
	N             int
	P50, P99, Max time.Duration
}

func latencies(d []time.Duration) Latencies {
	if len(d) == 0 {
		return Latencies{}
	}
	slices.Sort(d)
	at := func(q float64) time.Duration { return d[int(q*float64(len(d)-1))] }
	return Latencies{N: len(d), P50: at(0.5), P99: at(0.99), Max: d[len(d)-1]}
}

func (r HTTPResult) String() string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	s := fmt.Sprintf("%d commands in %s: %.0f commands/s, p50 %s, p99 %s, p99.9 %s, max %s; %d rejected (4xx), %d errors",
		r.Commands, r.Elapsed.Round(time.Millisecond), r.PerSecond, ms(r.P50), ms(r.P99), ms(r.P999), ms(r.Max), r.Rejected, r.Errors)
	if r.FirstErr != nil {
		s += fmt.Sprintf(" (first: %v)", r.FirstErr)
	}
	return s
}

// HTTPLoad is one timed run.
type HTTPLoad struct {
	Commands    int     // temporary-loss and unlock commands to send in all
	Concurrency int     // clients, each on its own cards
	HotShare    float64 // fraction of commands sent to one card every client shares
}

// Run sends load.Commands temporary-loss/unlock commands: cards[0] is the
// hot card when HotShare > 0, and every client owns the other cards i with
// i % Concurrency == its number, so apart from the hot card no two clients
// touch the same cardholder. Each owned card alternates temporary loss and
// unlock, so cards must start active and end as they started (give an even
// number of commands per card, or accept that some end lost). A feed
// consumer measures loss → visible in the blacklist feed on owned cards.
func (h *HTTP) Run(ctx context.Context, cards []string, load HTTPLoad) (HTTPResult, error) {
	owned := cards
	var hot string
	if load.HotShare > 0 {
		hot, owned = cards[0], cards[1:]
	}
	if load.Concurrency <= 0 || len(owned) < load.Concurrency {
		return HTTPResult{}, fmt.Errorf("bench: %d cards for %d clients: want at least one card per client (plus the hot card)",
			len(owned), load.Concurrency)
	}
	feed, err := h.startFeed(ctx)
	if err != nil {
		return HTTPResult{}, err
	}
	var (
		next           atomic.Int64
		hotLost        atomic.Bool
		mu             sync.Mutex
		took           = make([]time.Duration, 0, load.Commands)
		rejected, errs int
		firstErr       error
		progress       = h.progress()
		wg             sync.WaitGroup
		start          = time.Now()
		path           = func(card, op string) string { return "/v1/cards/" + card + "/" + op }
		body           = map[string]string{"reason": "bench"}
		recordResult   = func(d time.Duration, status int, err error) {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				took = append(took, d)
			case status/100 == 4:
				rejected++
			default:
				errs++
				if firstErr == nil {
					firstErr = err
				}
			}
		}
	)
	progress.Phase("temporary-loss/unlock commands over HTTP", load.Commands)
	for w := range load.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []string
			for i := w; i < len(owned); i += load.Concurrency {
				mine = append(mine, owned[i])
			}
			lost := make([]bool, len(mine))
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			k := 0
			for next.Add(1) <= int64(load.Commands) && ctx.Err() == nil {
				if hot != "" && rng.Float64() < load.HotShare {
					op := "temporary-loss"
					if hotLost.Load() {
						op = "unlock"
					}
					t0 := time.Now()
					status, err := h.call(ctx, http.MethodPost, path(hot, op), body, nil)
					if err == nil {
						hotLost.Store(op == "temporary-loss")
					}
					recordResult(time.Since(t0), status, err)
					progress.Add(1)
					continue
				}
				i := k % len(mine)
				op := "temporary-loss"
				if lost[i] {
					op = "unlock"
				}
				t0 := time.Now()
				var ans commandAnswer
				status, err := h.call(ctx, http.MethodPost, path(mine[i], op), body, &ans)
				d := time.Since(t0)
				if err == nil {
					lost[i] = !lost[i]
					h.lost.Store(mine[i], lost[i])
					if op == "temporary-loss" {
						feed.stored(mine[i], t0.Add(d))
					}
				}
				recordResult(d, status, err)
				progress.Add(1)
				// Next card when this one is back to active: every card is
				// lost then unlocked before the client moves on.
				if !lost[i] {
					k++
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	progress.Finish()
	vis, unseen := feed.stop(5 * time.Second)
	l := latencies(took)
	res := HTTPResult{Commands: len(took), Rejected: rejected, Errors: errs, FirstErr: firstErr, Elapsed: elapsed,
		P50: l.P50, P99: l.P99, Max: l.Max, Visibility: vis, Unseen: unseen, FeedErr: feed.err}
	if len(took) > 0 {
		res.P999 = took[int(0.999*float64(len(took)-1))]
		res.PerSecond = float64(len(took)) / elapsed.Seconds()
	}
	return res, ctx.Err()
}

// Sequential sends n temporary-loss/unlock commands one after another,
// round the cards (each card's next command undoes its last), and returns
// the position and card of the last one.
func (h *HTTP) Sequential(ctx context.Context, cards []string, n int) (lastCard, lastPosition string, err error) {
	for i := range n {
		card := cards[i%len(cards)]
		op := "temporary-loss"
		if l, _ := h.lost.Load(card); l == true {
			op = "unlock"
		}
		var ans commandAnswer
		if _, err := h.call(ctx, http.MethodPost, "/v1/cards/"+card+"/"+op, map[string]string{"reason": "bench"}, &ans); err != nil {
			return "", "", err
		}
		h.lost.Store(card, op == "temporary-loss")
		lastCard, lastPosition = card, ans.Position
	}
	return lastCard, lastPosition, nil
}

// WaitVisible waits until the read model has applied position (the
// blacklist lookup with min_position).
func (h *HTTP) WaitVisible(ctx context.Context, card, position string) error {
	_, err := h.call(ctx, http.MethodGet, "/v1/blacklist/"+card+"?min_position="+position, nil, nil)
	return err
}

// Get reads path (for /metrics); the body is returned as it came.
func (h *HTTP) Get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(h.BaseURL, "/")+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+h.Key)
	resp, err := h.client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// feedWatch long-polls the blacklist feed and pairs each card's losses
// (answered, in order) with the "add" changes the feed shows for it.
type feedWatch struct {
	mu     sync.Mutex
	losses map[string][]time.Time // card → when each loss was answered
	seen   map[string][]time.Time // card → when the feed showed each add
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

type feedPage struct {
	Changes []struct {
		CardNo string `json:"card_no"`
		Op     string `json:"op"`
	} `json:"changes"`
	Next int64 `json:"next"`
}

// startFeed finds the head of the feed, then follows it until stop.
func (h *HTTP) startFeed(ctx context.Context) (*feedWatch, error) {
	var after int64
	for {
		var p feedPage
		if _, err := h.call(ctx, http.MethodGet, fmt.Sprintf("/v1/blacklist/changes?after=%d&limit=10000", after), nil, &p); err != nil {
			return nil, fmt.Errorf("bench: blacklist feed head: %w", err)
		}
		after = max(after, p.Next)
		if len(p.Changes) < 10000 {
			break
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	f := &feedWatch{losses: map[string][]time.Time{}, seen: map[string][]time.Time{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		for ctx.Err() == nil {
			var p feedPage
			_, err := h.call(ctx, http.MethodGet, fmt.Sprintf("/v1/blacklist/changes?after=%d&limit=10000&wait=1s", after), nil, &p)
			if err != nil {
				if ctx.Err() == nil {
					f.err = err
				}
				return
			}
			now := time.Now()
			f.mu.Lock()
			for _, c := range p.Changes {
				if c.Op == "add" {
					f.seen[c.CardNo] = append(f.seen[c.CardNo], now)
				}
			}
			f.mu.Unlock()
			after = max(after, p.Next)
		}
	}()
	return f, nil
}

func (f *feedWatch) stored(card string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.losses[card] = append(f.losses[card], at)
}

// pending counts losses the feed has not shown yet.
func (f *feedWatch) pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for card, ls := range f.losses {
		n += max(len(ls)-len(f.seen[card]), 0)
	}
	return n
}

// stop waits up to grace for the feed to show every loss, stops following
// and pairs losses with adds. A feed that shows a loss before its answer
// reached the client counts as 0.
func (f *feedWatch) stop(grace time.Duration) (Latencies, int) {
	deadline := time.Now().Add(grace)
	for f.pending() > 0 && time.Now().Before(deadline) {
		select {
		case <-f.done:
			deadline = time.Now()
		case <-time.After(20 * time.Millisecond):
		}
	}
	f.cancel()
	<-f.done
	f.mu.Lock()
	defer f.mu.Unlock()
	var d []time.Duration
	unseen := 0
	for card, ls := range f.losses {
		seen := f.seen[card]
		for i, at := range ls {
			if i >= len(seen) {
				unseen++
				continue
			}
			d = append(d, max(seen[i].Sub(at), 0))
		}
	}
	return latencies(d), unseen
}
