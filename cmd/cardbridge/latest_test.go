package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The counter application long-polls /latest with the seq it has seen and
// gets the next state as soon as there is one.
func TestLatestLongPoll(t *testing.T) {
	s := newState("Virtual PCD 00 01", time.Now)
	srv := httptest.NewServer(s.handler())
	defer srv.Close()
	get := func(query string) Latest {
		t.Helper()
		res, err := http.Get(srv.URL + "/latest" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("status %d, Cache-Control %q", res.StatusCode, res.Header.Get("Cache-Control"))
		}
		var l Latest
		if err := json.NewDecoder(res.Body).Decode(&l); err != nil {
			t.Fatal(err)
		}
		return l
	}

	if l := get(""); l.Seq != 0 || l.Reader != "Virtual PCD 00 01" || l.CardPresent {
		t.Fatalf("initial /latest = %+v", l)
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		s.update(func(l *Latest) {
			l.CardPresent = true
			l.Decision = &Decision{Decision: Refused, Reason: "blacklisted:lost", Source: SourceServer}
		})
	}()
	start := time.Now()
	l := get("?after=0&wait=5s")
	if l.Seq != 1 || !l.CardPresent || l.Decision == nil || l.Decision.Reason != "blacklisted:lost" {
		t.Errorf("long poll = %+v; want seq 1 with the refusal", l)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("long poll returned after %v, not at the change", d)
	}
	// Nothing new: the poll ends at its wait with the same state.
	if l := get("?after=1&wait=100ms"); l.Seq != 1 {
		t.Errorf("empty long poll = seq %d, want 1", l.Seq)
	}
	res, err := http.Get(srv.URL + "/latest?after=x")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("after=x: status %d, want 400", res.StatusCode)
	}
}
