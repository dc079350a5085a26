package eventstore

import (
	"errors"
	"fmt"
)

// MaxAppendSize is the most bytes, counted by AppendSize, that one Append
// (or one stream's part of an AppendMany) may carry. It is EventStoreDB's
// default MaxAppendSize (1,048,576 bytes; an append over it is refused by
// the server), and every adapter enforces it, PostgreSQL too, so that a
// writer tested on any adapter splits its appends as EventStoreDB needs
// and nobody discovers an oversize append after moving stores.
const MaxAppendSize = 1 << 20

// EventOverhead is what AppendSize counts per event on top of its own
// bytes: room for what an adapter stores with each event. esdbstore wraps
// the metadata in the chain envelope (91 bytes around JSON metadata, 79
// without metadata); the server then counts the wrapped metadata.
const EventOverhead = 128

// EventSize is an event's share of AppendSize: data, metadata, twice the
// type name (EventStoreDB counts the type as UTF-16, two bytes per
// character; a byte of a Go string is never fewer) and EventOverhead.
func EventSize(e EventData) int {
	return len(e.Data) + len(e.Metadata) + 2*len(e.Type) + EventOverhead
}

// AppendSize is the size of an append as the port counts it: the sum of
// EventSize. It is at least what EventStoreDB counts for the same append
// sent by esdbstore (see esdbstore/esdbdouble's package doc).
func AppendSize(events []EventData) int {
	n := 0
	for _, e := range events {
		n += EventSize(e)
	}
	return n
}

// ErrAppendTooLarge: the append's events exceed MaxAppendSize; nothing was
// written. Split the events into several appends (SplitBySize).
var ErrAppendTooLarge = errors.New("append exceeds the maximum append size")

// AppendTooLargeError tells how large a refused append was.
type AppendTooLargeError struct {
	Stream string
	Size   int // AppendSize of the refused events; 0 when unknown (the server refused)
	Max    int
}

func (e *AppendTooLargeError) Error() string {
	if e.Size == 0 {
		return fmt.Sprintf("append %s: larger than the maximum append size of %d bytes", e.Stream, e.Max)
	}
	return fmt.Sprintf("append %s: %d bytes, the maximum append size is %d", e.Stream, e.Size, e.Max)
}

func (e *AppendTooLargeError) Is(target error) bool { return target == ErrAppendTooLarge }

// CheckAppendSize returns an *AppendTooLargeError when events exceed
// MaxAppendSize. Adapters call it before they write anything.
func CheckAppendSize(stream string, events []EventData) error {
	if n := AppendSize(events); n > MaxAppendSize {
		return &AppendTooLargeError{Stream: stream, Size: n, Max: MaxAppendSize}
	}
	return nil
}

// SplitBySize cuts events, in order, into the fewest consecutive runs of
// at most limit bytes each (AppendSize) a greedy cut gives. An event larger
// than limit on its own is a run of its own, which its append refuses.
func SplitBySize(events []EventData, limit int) [][]EventData {
	var runs [][]EventData
	start, size := 0, 0
	for i, e := range events {
		n := EventSize(e)
		if i > start && size+n > limit {
			runs = append(runs, events[start:i:i])
			start, size = i, 0
		}
		size += n
	}
	if start < len(events) {
		runs = append(runs, events[start:])
	}
	return runs
}
