package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Latest is what GET /latest serves: the reader's state and the last card
// result. Seq grows with every change, so the counter application can
// long-poll with ?after=<seq>.
type Latest struct {
	Seq           uint64    `json:"seq"`
	At            time.Time `json:"at"`
	Reader        string    `json:"reader"`
	ReaderPresent bool      `json:"reader_present"`
	CardPresent   bool      `json:"card_present"`
	// Card, Decision and Error belong to the last card inserted; they stay
	// after it is removed (card_present tells) and are cleared by the next
	// insertion.
	Card     *CardView  `json:"card,omitempty"`
	Decision *Decision  `json:"decision,omitempty"`
	Error    *ErrorView `json:"error,omitempty"`
}

// ErrorView is a failed read of the last card.
type ErrorView struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// state holds Latest; safe for concurrent use.
type state struct {
	mu      sync.Mutex
	latest  Latest
	changed chan struct{} // closed and replaced on every change
	now     func() time.Time
}

func newState(reader string, now func() time.Time) *state {
	return &state{latest: Latest{Reader: reader, At: now().UTC()}, changed: make(chan struct{}), now: now}
}

func (s *state) update(f func(*Latest)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.latest)
	s.latest.Seq++
	s.latest.At = s.now().UTC()
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *state) get() (Latest, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latest, s.changed
}

// maxLongPoll bounds ?wait= on /latest.
const maxLongPoll = 60 * time.Second

// handler serves the counter application:
//
//	GET /latest                      the Latest document
//	GET /latest?after=SEQ&wait=30s   waits until seq > SEQ (at most wait, ≤ 60 s)
//	GET /healthz                     {"status":"ok", reader and card presence}
func (s *state) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /latest", func(w http.ResponseWriter, r *http.Request) {
		l, changed := s.get()
		if after := r.URL.Query().Get("after"); after != "" {
			seq, err := strconv.ParseUint(after, 10, 64)
			if err != nil {
				http.Error(w, "after: want a seq number", http.StatusBadRequest)
				return
			}
			wait := 30 * time.Second
			if v := r.URL.Query().Get("wait"); v != "" {
				if wait, err = time.ParseDuration(v); err != nil || wait < 0 {
					http.Error(w, "wait: want a duration such as 30s", http.StatusBadRequest)
					return
				}
			}
			ctx, cancel := context.WithTimeout(r.Context(), min(wait, maxLongPoll))
			defer cancel()
			for l.Seq <= seq {
				select {
				case <-changed:
					l, changed = s.get()
				case <-ctx.Done():
					writeJSON(w, l)
					return
				}
			}
		}
		writeJSON(w, l)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		l, _ := s.get()
		writeJSON(w, map[string]any{"status": "ok", "reader": l.Reader, "reader_present": l.ReaderPresent,
			"card_present": l.CardPresent, "seq": l.Seq})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store") // holder data: not for caches
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
