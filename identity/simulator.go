package identity

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Faults a Simulator can play, for tests and drills of the failures.
type Fault string

const (
	FaultNone        Fault = ""
	FaultUnavailable Fault = "unavailable" // 503 to every call
	FaultGarbage     Fault = "garbage"     // 200 with bytes that are not the protocol
	FaultSlow        Fault = "slow"        // answers after the caller gave up (or after SlowFor)
)

// Faults lists the faults by name.
var Faults = []Fault{FaultUnavailable, FaultGarbage, FaultSlow}

// Person is one record of the simulated population database.
type Person struct {
	IDNumber string
	Name     string
	Photo    []byte // nil: SyntheticPhoto of the ID number
}

// Simulator plays the police side of the protocol over a fixed population.
// It is an http.Handler; `cardledger simulate police` serves it.
type Simulator struct {
	mu      sync.Mutex
	people  map[string]Person
	fault   Fault
	SlowFor time.Duration // how long FaultSlow waits at most; default 1 minute
}

// NewSimulator knows people.
func NewSimulator(people ...Person) *Simulator {
	s := &Simulator{people: map[string]Person{}}
	s.Add(people...)
	return s
}

// Add adds or replaces people.
func (s *Simulator) Add(people ...Person) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range people {
		if p.Photo == nil {
			p.Photo = SyntheticPhoto(p.IDNumber)
		}
		s.people[strings.ToUpper(p.IDNumber)] = p
	}
}

// SetFault switches the fault played from now on.
func (s *Simulator) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// ServeHTTP answers POST /v1/identity/verifications.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/identity/verifications" {
		http.NotFound(w, r)
		return
	}
	// The body is read first: the server then notices a caller that hangs up.
	var req request
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		http.Error(w, "want {\"id_number\",\"name\"}", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	fault := s.fault
	s.mu.Unlock()
	switch fault {
	case FaultUnavailable:
		http.Error(w, "population database under maintenance", http.StatusServiceUnavailable)
		return
	case FaultGarbage:
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html>\x00\xff 系统维护中")
		return
	case FaultSlow:
		wait := s.SlowFor
		if wait <= 0 {
			wait = time.Minute
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(wait):
		}
	}
	s.mu.Lock()
	p, known := s.people[strings.ToUpper(strings.TrimSpace(req.IDNumber))]
	s.mu.Unlock()
	a := answer{Result: ResultNotFound}
	switch {
	case known && p.Name == strings.TrimSpace(req.Name):
		a = answer{Result: ResultMatch, Photo: p.Photo}
	case known:
		a.Result = ResultMismatch
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(a)
}

// ReadPeople reads a population file: CSV (UTF-8) with the columns
// id_number,name and an optional header row naming them.
func ReadPeople(r io.Reader) ([]Person, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	var out []Person
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("people file: %w", err)
		}
		if line == 1 && len(rec) > 0 && strings.TrimPrefix(rec[0], "\ufeff") == "id_number" {
			continue
		}
		if len(rec) < 2 || strings.TrimSpace(rec[0]) == "" || strings.TrimSpace(rec[1]) == "" {
			return nil, fmt.Errorf("people file: line %d: want id_number,name", line)
		}
		out = append(out, Person{IDNumber: strings.TrimSpace(rec[0]), Name: strings.TrimSpace(rec[1])})
	}
}

// SyntheticPhoto is a 358×441 JPEG portrait-shaped picture that differs per
// ID number: the simulator's stand-in for a person's photo.
func SyntheticPhoto(idNumber string) []byte {
	h := sha256.Sum256([]byte(idNumber))
	const w, ht = 358, 441
	img := image.NewRGBA(image.Rect(0, 0, w, ht))
	bg := color.RGBA{R: 200 + h[0]%56, G: 220 + h[1]%36, B: 240, A: 255}
	skin := color.RGBA{R: 180 + h[2]%60, G: 140 + h[3]%60, B: 110 + h[4]%50, A: 255}
	for y := range ht {
		for x := range w {
			c := bg
			dx, dy := x-w/2, y-ht*2/5
			if dx*dx*9+dy*dy*5 < 120*120*5 || (y > ht*7/10 && dx*dx < (y-ht*6/10)*(y-ht*6/10)*3) {
				c = skin
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 70}); err != nil {
		panic(err) // encoding to memory does not fail
	}
	return b.Bytes()
}
