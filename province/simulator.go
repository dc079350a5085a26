package province

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
)

// Fault makes the simulator misbehave, for the ledger's tests and drills.
type Fault string

const (
	FaultNone    Fault = ""
	FaultGarbage Fault = "garbage" // 200 with a body cut in the middle of its JSON
	FaultHang    Fault = "hang"    // no answer until the caller gives up
	FaultError   Fault = "error"   // 500
)

// Faults lists the faults a simulator can be started with.
func Faults() []Fault { return []Fault{FaultGarbage, FaultHang, FaultError} }

// Simulator plays the province: one record per card, keyed by card
// number, kept in memory and, with a data file, written there after every
// change (so a restarted simulator remembers).
type Simulator struct {
	mu      sync.Mutex
	records map[string]commands.ProvinceCard
	token   string
	fault   Fault
	data    string
	// Calls counts the requests served, faulty ones included.
	calls int
}

// SimulatorOptions configure NewSimulator.
type SimulatorOptions struct {
	// Token, if set, must come as "Authorization: Bearer <token>".
	Token string
	// DataFile keeps the records across restarts ("" keeps them in memory).
	DataFile string
	Fault    Fault
}

// NewSimulator returns a simulator, with the records of DataFile if it exists.
func NewSimulator(o SimulatorOptions) (*Simulator, error) {
	if o.Fault != FaultNone && !slices.Contains(Faults(), o.Fault) {
		return nil, fmt.Errorf("province simulator: unknown fault %q (want garbage, hang or error)", o.Fault)
	}
	s := &Simulator{records: map[string]commands.ProvinceCard{}, token: o.Token, fault: o.Fault, data: o.DataFile}
	if o.DataFile == "" {
		return s, nil
	}
	raw, err := os.ReadFile(o.DataFile)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("province simulator: %w", err)
	}
	var recs []commands.ProvinceCard
	if err := json.Unmarshal(raw, &recs); err != nil {
		return nil, fmt.Errorf("province simulator: %s: %w", o.DataFile, err)
	}
	for _, r := range recs {
		s.records[r.CardNo] = r
	}
	return s, nil
}

// SetFault changes how the simulator answers from now on.
func (s *Simulator) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// Put records cards as another city uploaded them (test and demo data).
func (s *Simulator) Put(records ...commands.ProvinceCard) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range records {
		s.records[r.CardNo] = r
	}
	return s.save()
}

// Record is the province's record of cardNo.
func (s *Simulator) Record(cardNo string) (commands.ProvinceCard, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[cardNo]
	return r, ok
}

// Calls is the number of requests served.
func (s *Simulator) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// save writes the data file (under s.mu), through a temporary file so a
// crash leaves the old or the new one.
func (s *Simulator) save() error {
	if s.data == "" {
		return nil
	}
	recs := make([]commands.ProvinceCard, 0, len(s.records))
	for _, r := range s.records {
		recs = append(recs, r)
	}
	slices.SortFunc(recs, func(a, b commands.ProvinceCard) int { return cmp.Compare(a.CardNo, b.CardNo) })
	raw, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		return err
	}
	tmp := s.data + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.data)
}

// Handler serves the wire protocol of docs/province.md.
func (s *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/card-queries", s.cards)
	mux.HandleFunc("POST /v1/cards/{card_no}/transfer", s.transfer)
	mux.HandleFunc("POST /v1/cards/{card_no}/cancellation", s.cancel)
	mux.HandleFunc("PUT /v1/records", s.upload)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls++
		fault := s.fault
		s.mu.Unlock()
		switch fault {
		case FaultGarbage:
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"cards":[{"card_no":"B1000`)
			return
		case FaultHang:
			// Reading the body first lets the server notice the caller
			// hanging up (it watches the connection only after that).
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Minute):
			}
			return
		case FaultError:
			writeProblem(w, http.StatusInternalServerError, "internal", "simulated failure")
			return
		}
		if s.token != "" && r.Header.Get("Authorization") != "Bearer "+s.token {
			writeProblem(w, http.StatusUnauthorized, "unauthenticated", "a bearer token is required")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeProblem(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, problem{Code: code, Message: msg})
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 16<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeProblem(w, http.StatusBadRequest, "malformed_request", err.Error())
		return false
	}
	return true
}

func (s *Simulator) cards(w http.ResponseWriter, r *http.Request) {
	var q cardsQuery
	if !decodeBody(w, r, &q) {
		return
	}
	id := q.IDNumber
	s.mu.Lock()
	out := []commands.ProvinceCard{}
	for _, rec := range s.records {
		if rec.IDNumber == id {
			out = append(out, rec)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b commands.ProvinceCard) int { return cmp.Compare(a.CardNo, b.CardNo) })
	writeJSON(w, http.StatusOK, cardsAnswer{Cards: out})
}

func (s *Simulator) transfer(w http.ResponseWriter, r *http.Request) {
	var req transferRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if domain.ValidateRegionCode(req.ToRegion) != nil {
		writeProblem(w, http.StatusBadRequest, "malformed_request", "to_region is not a region code")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[r.PathValue("card_no")]
	switch {
	case !ok || rec.IDNumber != req.IDNumber:
		writeProblem(w, http.StatusNotFound, "card_not_found", "no such card of this person")
		return
	case rec.Region == req.ToRegion:
		writeJSON(w, http.StatusOK, rec) // done before: the same answer
		return
	case rec.Status != domain.StatusIssued && rec.Status != domain.StatusActive:
		writeProblem(w, http.StatusConflict, "not_transferable", fmt.Sprintf("card %s is %s", rec.CardNo, rec.Status))
		return
	case domain.PrefectureOf(rec.Region) == domain.PrefectureOf(req.ToRegion):
		writeProblem(w, http.StatusConflict, "same_city", fmt.Sprintf("card %s is in that city already", rec.CardNo))
		return
	}
	rec.TransferredFrom, rec.Region = rec.Region, req.ToRegion
	s.records[rec.CardNo] = rec
	if err := s.save(); err != nil {
		writeProblem(w, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

func (s *Simulator) cancel(w http.ResponseWriter, r *http.Request) {
	var req cancelRequest
	if !decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[r.PathValue("card_no")]
	switch {
	case !ok:
		writeProblem(w, http.StatusNotFound, "card_not_found", "no such card")
		return
	case domain.PrefectureOf(rec.Region) != domain.PrefectureOf(req.Region):
		writeProblem(w, http.StatusConflict, "card_of_another_region", fmt.Sprintf("card %s is recorded for region %s", rec.CardNo, rec.Region))
		return
	}
	rec.Status = domain.StatusCancelled
	s.records[rec.CardNo] = rec
	if err := s.save(); err != nil {
		writeProblem(w, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

func (s *Simulator) upload(w http.ResponseWriter, r *http.Request) {
	var req uploadRequest
	if !decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	answer := uploadAnswer{Rejected: []commands.UploadRejection{}}
	for _, rec := range req.Records {
		reject := func(code, format string, args ...any) {
			answer.Rejected = append(answer.Rejected, commands.UploadRejection{CardNo: rec.CardNo, Code: code, Message: fmt.Sprintf(format, args...)})
		}
		if err := validRecord(rec); err != nil {
			reject("invalid_record", "%v", err)
			continue
		}
		if domain.ValidateIDNumber(rec.IDNumber) != nil {
			reject("invalid_record", "card %s has no valid id_number", rec.CardNo)
			continue
		}
		if old, ok := s.records[rec.CardNo]; ok && domain.PrefectureOf(old.Region) != domain.PrefectureOf(rec.Region) {
			reject("card_of_another_region", "card %s is recorded for region %s", rec.CardNo, old.Region)
			continue
		}
		if old, ok := s.records[rec.CardNo]; ok {
			rec.TransferredFrom = cmp.Or(rec.TransferredFrom, old.TransferredFrom)
		}
		s.records[rec.CardNo] = rec
		answer.Accepted++
	}
	if err := s.save(); err != nil {
		writeProblem(w, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, answer)
}
