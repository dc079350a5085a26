// Package possim plays the non-tax POS gateway (非税收入 POS) for
// development and tests (`cardledger simulate pos`): it takes payment
// notices at POST /notices, "collects" each once, and reports the payment
// to the ledger's POST /v1/fees/payments as a client of role pos. It can
// misbehave the ways a real gateway does: answer garbage or stall instead
// of acknowledging, and report a payment twice.
package possim

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cardledger/cardledger/fees"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// Options configure the simulator.
type Options struct {
	LedgerURL string // base URL of cardledger
	// APIKey is a pos client's bearer key; or Client and Secret sign each
	// report (X-CL-Signature).
	APIKey         string
	Client         string
	Secret         []byte
	Terminal       string
	GarbageRate    float64       // share of notices answered with garbage instead of an acknowledgement
	Stall          time.Duration // with GarbageRate, stall this long instead (a timeout) when > 0
	Duplicate      bool          // report every payment twice
	Seed           uint64
	HTTP           *http.Client
	Now            func() time.Time
	ReportAttempts int // tries of each report (0: 5)
}

// Sim is the simulator; it is an http.Handler.
type Sim struct {
	o    Options
	mu   sync.Mutex
	rng  *rand.Rand
	seen map[string]bool // notices already collected
	wg   sync.WaitGroup
	errs []error
}

// New returns a simulator.
func New(o Options) *Sim {
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ReportAttempts <= 0 {
		o.ReportAttempts = 5
	}
	if o.Terminal == "" {
		o.Terminal = "sim-pos-01"
	}
	return &Sim{o: o, rng: rand.New(rand.NewPCG(o.Seed, 0x706f73)), seen: map[string]bool{}}
}

// PaymentID is the simulator's payment id for a notice: the same notice
// always gives the same id, as a real gateway keeps one payment per notice.
func PaymentID(noticeNo string) string {
	s := sha256.Sum256([]byte(noticeNo))
	return "SIM-" + hex.EncodeToString(s[:8])
}

func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/notices" {
		http.NotFound(w, r)
		return
	}
	var n fees.Notice
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&n); err != nil || n.NoticeNo == "" || n.AmountFen <= 0 {
		http.Error(w, "bad notice", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	misbehave := s.rng.Float64() < s.o.GarbageRate
	first := !s.seen[n.NoticeNo] && !misbehave
	if first {
		s.seen[n.NoticeNo] = true
	}
	s.mu.Unlock()
	if misbehave {
		if s.o.Stall > 0 {
			select {
			case <-time.After(s.o.Stall):
			case <-r.Context().Done():
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"notice_no": <html>gateway busy`)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"notice_no": n.NoticeNo, "accepted": true})
	if first {
		s.wg.Add(1)
		go s.collect(n)
	}
}

// collect reports the notice's payment (twice with Duplicate).
func (s *Sim) collect(n fees.Notice) {
	defer s.wg.Done()
	p := fees.Payment{PaymentID: PaymentID(n.NoticeNo), CardholderID: n.CardholderID, ApplicationID: n.ApplicationID,
		AmountFen: n.AmountFen, Terminal: s.o.Terminal, PaidAt: s.o.Now().UTC().Truncate(time.Second)}
	times := 1
	if s.o.Duplicate {
		times = 2
	}
	for range times {
		if err := s.Report(context.Background(), p); err != nil {
			s.mu.Lock()
			s.errs = append(s.errs, err)
			s.mu.Unlock()
		}
	}
}

// Report sends one payment report, retrying on transport errors and 5xx.
func (s *Sim) Report(ctx context.Context, p fees.Payment) error {
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	var last error
	for i := range s.o.ReportAttempts {
		if i > 0 {
			time.Sleep(time.Duration(100<<i) * time.Millisecond)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(s.o.LedgerURL, "/")+"/v1/fees/payments", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		if s.o.APIKey != "" {
			req.Header.Set("Authorization", "Bearer "+s.o.APIKey)
		} else if err := httpapi.SignRequest(req, s.o.Client, s.o.Secret, nonce(), s.o.Now()); err != nil {
			return err
		}
		resp, err := s.o.HTTP.Do(req)
		if err != nil {
			last = err
			continue
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		switch {
		case resp.StatusCode < 300:
			return nil
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			last = fmt.Errorf("ledger answered %d: %s", resp.StatusCode, msg)
		default:
			return fmt.Errorf("ledger refused payment %s: %d %s", p.PaymentID, resp.StatusCode, msg)
		}
	}
	return fmt.Errorf("payment %s not reported: %w", p.PaymentID, last)
}

// nonce is a fresh signed-request nonce: a repeated report is a new request.
func nonce() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Wait waits for the reports under way and returns their errors.
func (s *Sim) Wait() []error {
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errs...)
}
