package esdbdouble

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
)

func TestRevisionsCountFromZero(t *testing.T) {
	c := start(t)
	res := appendEvents(t, c, "card-1", esdb.NoStream{}, events("Issued", 3)...)
	if res.NextExpectedVersion != 2 {
		t.Fatalf("revision after 3 events = %d, want 2", res.NextExpectedVersion)
	}
	evs, err := readStream(t, c, "card-1", esdb.ReadStreamOptions{From: esdb.Start{}}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := revisions(evs); len(got) != 3 || got[0] != 0 || got[2] != 2 {
		t.Fatalf("revisions = %v, want [0 1 2]", got)
	}
}

func TestExpectedRevision(t *testing.T) {
	c := start(t)
	cases := []struct {
		name     string
		stream   string
		expected esdb.ExpectedRevision
		ok       bool
		current  string // actual revision reported on failure
	}{
		{"any on missing", "missing-any", esdb.Any{}, true, ""},
		{"any on existing", "existing", esdb.Any{}, true, ""},
		{"no_stream on missing", "missing-ns", esdb.NoStream{}, true, ""},
		{"no_stream on existing", "existing", esdb.NoStream{}, false, "'1'"},
		{"stream_exists on missing", "missing-se", esdb.StreamExists{}, false, "'no_stream'"},
		{"stream_exists on existing", "existing", esdb.StreamExists{}, true, ""},
		{"exact on missing", "missing-ex", esdb.Revision(0), false, "'no_stream'"},
		{"exact behind", "existing", esdb.Revision(0), false, "'1'"},
		{"exact ahead", "existing", esdb.Revision(7), false, "'1'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// "existing" is a stream at revision 1, private to the case
			// because cases that succeed move it.
			stream := tc.stream
			if stream == "existing" {
				stream = "existing-" + strings.ReplaceAll(tc.name, " ", "-")
				appendEvents(t, c, stream, esdb.NoStream{}, events("E", 2)...)
			}
			_, err := c.AppendToStream(testContext(t), stream, esdb.AppendToStreamOptions{ExpectedRevision: tc.expected}, jsonEvent("X", 0))
			if tc.ok {
				if err != nil {
					t.Fatalf("append: %v", err)
				}
				return
			}
			code, ok := errorCode(err)
			if !ok || code != esdb.ErrorCodeWrongExpectedVersion {
				t.Fatalf("err = %v, want wrong expected version", err)
			}
			if !strings.Contains(err.Error(), "but got "+tc.current) {
				t.Fatalf("err = %v, want actual revision %s", err, tc.current)
			}
		})
	}
}

func TestExactRevisionAppendsAfterIt(t *testing.T) {
	c := start(t)
	appendEvents(t, c, "s", esdb.NoStream{}, jsonEvent("A", 0))
	res := appendEvents(t, c, "s", esdb.Revision(0), jsonEvent("B", 1), jsonEvent("C", 2))
	if res.NextExpectedVersion != 2 {
		t.Fatalf("revision = %d, want 2", res.NextExpectedVersion)
	}
}

func TestIdempotentAppend(t *testing.T) {
	cases := []struct {
		name     string
		expected func(before uint64, exists bool) esdb.ExpectedRevision
	}{
		{"exact revision", func(before uint64, exists bool) esdb.ExpectedRevision {
			if !exists {
				return esdb.NoStream{}
			}
			return esdb.Revision(before)
		}},
		{"any", func(uint64, bool) esdb.ExpectedRevision { return esdb.Any{} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := start(t)
			appendEvents(t, c, "s", esdb.NoStream{}, jsonEvent("First", 0))
			batch := events("Retried", 3)
			first := appendEvents(t, c, "s", tc.expected(0, true), batch...)
			again := appendEvents(t, c, "s", tc.expected(0, true), batch...)
			if *again != *first {
				t.Fatalf("retry result = %+v, want the original %+v", *again, *first)
			}
			evs, err := readStream(t, c, "s", esdb.ReadStreamOptions{}, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 4 {
				t.Fatalf("stream has %d events after a retried append, want 4", len(evs))
			}
			if all := readAll(t, c, esdb.ReadAllOptions{}, 100); len(all) != 4 {
				t.Fatalf("$all has %d events after a retried append, want 4", len(all))
			}
		})
	}
}

func TestIdempotentAppendOnNewStream(t *testing.T) {
	c := start(t)
	batch := events("E", 2)
	first := appendEvents(t, c, "s", esdb.NoStream{}, batch...)
	again := appendEvents(t, c, "s", esdb.NoStream{}, batch...)
	if *again != *first {
		t.Fatalf("retry result = %+v, want %+v", *again, *first)
	}
}

func TestRoundTripIsByteExact(t *testing.T) {
	c := start(t)
	sent := []esdb.EventData{
		{EventID: uuid.New(), EventType: "CardIssued", ContentType: esdb.ContentTypeJson,
			Data: []byte(`{"name":"张三","ssn":"110101199003070011"}`), Metadata: []byte(`{"causation":"c-1"}`)},
		{EventID: uuid.New(), EventType: "Photo", ContentType: esdb.ContentTypeBinary,
			Data: []byte{0, 1, 2, 0xff, 0xfe}, Metadata: []byte{}},
		{EventID: uuid.New(), EventType: "Empty", ContentType: esdb.ContentTypeJson},
	}
	before := time.Now().Add(-time.Second)
	appendEvents(t, c, "s", esdb.NoStream{}, sent...)
	check := func(t *testing.T, got []*esdb.ResolvedEvent) {
		t.Helper()
		if len(got) != len(sent) {
			t.Fatalf("got %d events, want %d", len(got), len(sent))
		}
		for i, want := range sent {
			e := got[i].Event
			wantCT := map[esdb.ContentType]string{esdb.ContentTypeJson: "application/json", esdb.ContentTypeBinary: "application/octet-stream"}[want.ContentType]
			if e.EventID != want.EventID || e.EventType != want.EventType || e.ContentType != wantCT ||
				!bytes.Equal(e.Data, want.Data) || !bytes.Equal(e.UserMetadata, want.Metadata) || e.StreamID != "s" {
				t.Fatalf("event %d = %+v, want %+v", i, e, want)
			}
			if e.CreatedDate.Before(before) || e.CreatedDate.After(time.Now().Add(time.Second)) {
				t.Fatalf("event %d created %v, want about now", i, e.CreatedDate)
			}
		}
	}
	t.Run("stream", func(t *testing.T) {
		got, err := readStream(t, c, "s", esdb.ReadStreamOptions{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		check(t, got)
	})
	t.Run("$all", func(t *testing.T) {
		check(t, readAll(t, c, esdb.ReadAllOptions{}, 10))
	})
}

func TestEventWithEmptyTypeIsStored(t *testing.T) {
	c := start(t)
	appendEvents(t, c, "s", esdb.Any{}, esdb.EventData{EventID: uuid.New(), ContentType: esdb.ContentTypeJson, Data: []byte(`{}`)})
}
