package esdbstore

import (
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/cardledger/cardledger/eventstore"
)

func TestExpectedRevisionMapping(t *testing.T) {
	cases := []struct {
		in   eventstore.ExpectedRevision
		want esdb.ExpectedRevision
	}{
		{eventstore.Any(), esdb.Any{}},
		{eventstore.NoStream(), esdb.NoStream{}},
		{eventstore.StreamExists(), esdb.StreamExists{}},
		{eventstore.Exact(0), esdb.StreamRevision{Value: 0}},
		{eventstore.Exact(41), esdb.StreamRevision{Value: 41}},
		{eventstore.Exact(1<<63 + 5), esdb.StreamRevision{Value: 1<<63 + 5}},
	}
	for _, tc := range cases {
		if got := expectedRevision(tc.in); got != tc.want {
			t.Errorf("expectedRevision(%s) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
}

func TestAllFromStartIsExplicit(t *testing.T) {
	// Subscriptions default to the end of $all; Start must map to esdb.Start.
	if got := allFrom(eventstore.Start); got != (esdb.Start{}) {
		t.Errorf("allFrom(Start) = %#v, want esdb.Start{}", got)
	}
	p := eventstore.Position{Commit: 10, Prepare: 9}
	if got := allFrom(p); got != (esdb.Position{Commit: 10, Prepare: 9}) {
		t.Errorf("allFrom(%v) = %#v", p, got)
	}
}

func TestIsSystem(t *testing.T) {
	for typ, want := range map[string]bool{
		"$streamDeleted": true, "$metadata": true, "$>": true,
		"CardIssued": false, "": false, "card$": false,
	} {
		if got := isSystem(&esdb.RecordedEvent{EventType: typ}); got != want {
			t.Errorf("isSystem(%q) = %v, want %v", typ, got, want)
		}
	}
}
