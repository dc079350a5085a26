package main

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/hwbridge"
)

// Event names, one JSON line each on stdout.
const (
	evStarted       = "agent_started"
	evReaderWaiting = "reader_waiting" // waiting_for: "reader" (absent) or "card"
	evCardInserted  = "card_inserted"
	evCardRead      = "card_read"
	evDecision      = "decision"
	evCardRemoved   = "card_removed"
	evUsageReported = "usage_reported"
	evError         = "error"
	// evCodeDecision: codes.go
)

// Event is one line of the log. The card and decision fields are flattened
// into the line.
type Event struct {
	Time       time.Time `json:"time"`
	Event      string    `json:"event"`
	Reader     string    `json:"reader,omitempty"`
	WaitingFor string    `json:"waiting_for,omitempty"`
	ATR        string    `json:"atr,omitempty"`
	// CardNo names the card on card_read, decision and usage lines (it
	// shadows CardView's, which is the same number).
	CardNo string `json:"card_no,omitempty"`
	*CardView
	*Decision
	APDUs  uint64  `json:"apdus,omitempty"`   // card_read: APDUs the read took
	ReadMS float64 `json:"read_ms,omitempty"` // card_read
	// Kind classifies an error (see errorKind); Message never holds
	// holder data (hwbridge errors never repeat holder values).
	Kind    string `json:"kind,omitempty"`
	Message string `json:"message,omitempty"`
	Listen  string `json:"listen,omitempty"`  // agent_started: the local endpoint
	Records int    `json:"records,omitempty"` // usage_reported: records stored
	// Check is a code_decision line's answer (an e-card code, not a card).
	Check *codeLine `json:"check,omitempty"`
}

// CardView is what the agent shows of a card. In the log it is always
// masked; on /latest it is full or masked as configured.
type CardView struct {
	CardNo     string `json:"card_no"`
	CardType   string `json:"card_type,omitempty"`
	Region     string `json:"issuing_region,omitempty"`
	IssueDate  string `json:"issue_date,omitempty"`
	ExpiryDate string `json:"expiry_date,omitempty"`
	Expired    bool   `json:"expired"`
	Name       string `json:"name"`
	IDNumber   string `json:"id_number"`
	Sex        string `json:"sex,omitempty"`
	BirthDate  string `json:"birth_date,omitempty"` // full view only: the ID number holds it
	Masked     bool   `json:"holder_masked"`
}

// viewOf shows card as of now, the holder masked or not.
func viewOf(c hwbridge.Card, now time.Time, masked bool) *CardView {
	v := &CardView{
		CardNo:     c.Ident.Number,
		CardType:   c.Ident.Type,
		Region:     c.Ident.Region,
		IssueDate:  c.Ident.IssueDate.String(),
		ExpiryDate: c.Ident.ExpiryDate.String(),
		Expired:    c.Expired(now),
		Sex:        c.Holder.Sex.String(),
		Masked:     masked,
	}
	if masked {
		v.Name, v.IDNumber = domain.MaskName(c.Holder.Name), domain.MaskIDNumber(string(c.Holder.SSN))
	} else {
		v.Name, v.IDNumber, v.BirthDate = c.Holder.Name, string(c.Holder.SSN), c.Holder.BirthDate.String()
	}
	return v
}

// eventLog writes events as JSON lines; safe for concurrent use (usage
// reports log from their own goroutines).
type eventLog struct {
	mu  sync.Mutex
	enc *json.Encoder
	now func() time.Time
}

func newEventLog(w io.Writer, now func() time.Time) *eventLog {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &eventLog{enc: enc, now: now}
}

func (l *eventLog) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = l.now()
	}
	e.Time = e.Time.UTC()
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.enc.Encode(e) // stdout is all we have: nowhere to report a failed write
}
