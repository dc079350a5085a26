package eventstore_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cardledger/cardledger/eventstore"
)

// sized is an event of exactly n bytes as EventSize counts them.
func sized(n int) eventstore.EventData {
	fixed := eventstore.EventSize(eventstore.EventData{Type: "T"})
	return eventstore.EventData{Type: "T", Data: []byte(strings.Repeat("x", n-fixed))}
}

func TestSplitBySize(t *testing.T) {
	tests := []struct {
		sizes []int
		limit int
		want  [][]int // sizes of each run
	}{
		{nil, 1000, nil},
		{[]int{200}, 1000, [][]int{{200}}},
		{[]int{200, 200, 200, 200, 200}, 1000, [][]int{{200, 200, 200, 200, 200}}},
		{[]int{200, 200, 200, 200, 200, 200}, 1000, [][]int{{200, 200, 200, 200, 200}, {200}}},
		{[]int{600, 600, 200, 200}, 1000, [][]int{{600}, {600, 200, 200}}},
		{[]int{200, 1500, 200}, 1000, [][]int{{200}, {1500}, {200}}}, // too large alone: a run of its own
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.sizes), func(t *testing.T) {
			var events []eventstore.EventData
			for _, n := range tc.sizes {
				events = append(events, sized(n))
			}
			var got [][]int
			var joined []eventstore.EventData
			for _, run := range eventstore.SplitBySize(events, tc.limit) {
				var sizes []int
				for _, e := range run {
					sizes = append(sizes, eventstore.EventSize(e))
				}
				got = append(got, sizes)
				joined = append(joined, run...)
			}
			if !slices.EqualFunc(got, tc.want, slices.Equal) {
				t.Fatalf("runs %v, want %v", got, tc.want)
			}
			if len(joined) != len(events) {
				t.Fatalf("runs hold %d events, want %d", len(joined), len(events))
			}
		})
	}
}

func TestCheckAppendSize(t *testing.T) {
	fits := []eventstore.EventData{sized(eventstore.MaxAppendSize / 2), sized(eventstore.MaxAppendSize / 2)}
	if err := eventstore.CheckAppendSize("s", fits); err != nil {
		t.Fatalf("exactly the maximum: %v", err)
	}
	over := append(fits, sized(eventstore.EventOverhead+2))
	err := eventstore.CheckAppendSize("s", over)
	var tl *eventstore.AppendTooLargeError
	if !errors.Is(err, eventstore.ErrAppendTooLarge) || !errors.As(err, &tl) ||
		*tl != (eventstore.AppendTooLargeError{Stream: "s", Size: eventstore.MaxAppendSize + eventstore.EventOverhead + 2, Max: eventstore.MaxAppendSize}) {
		t.Fatalf("over the maximum: %#v", err)
	}
}
