package esdbdouble

import (
	"fmt"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

func TestSoftDeletedStreamIsNotFoundAndContinuesNumbering(t *testing.T) {
	c := start(t)
	appendEvents(t, c, "s", esdb.NoStream{}, events("E", 3)...)
	if _, err := c.DeleteStream(testContext(t), "s", esdb.DeleteStreamOptions{ExpectedRevision: esdb.Revision(2)}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err := readStream(t, c, "s", esdb.ReadStreamOptions{}, 10)
	if code, ok := errorCode(err); !ok || code != esdb.ErrorCodeResourceNotFound {
		t.Fatalf("read after delete: err = %v, want resource not found", err)
	}
	res := appendEvents(t, c, "s", esdb.Any{}, jsonEvent("Again", 0))
	if res.NextExpectedVersion != 3 {
		t.Fatalf("revision after re-append = %d, want 3", res.NextExpectedVersion)
	}
	evs, err := readStream(t, c, "s", esdb.ReadStreamOptions{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := revisions(evs); fmt.Sprint(got) != "[3]" {
		t.Fatalf("revisions after re-append = %v, want [3]", got)
	}
}

func TestDeleteWithWrongRevisionFails(t *testing.T) {
	c := start(t)
	appendEvents(t, c, "s", esdb.NoStream{}, events("E", 2)...)
	if _, err := c.DeleteStream(testContext(t), "s", esdb.DeleteStreamOptions{ExpectedRevision: esdb.Revision(0)}); err == nil {
		t.Fatal("delete at a stale revision succeeded")
	}
	if _, err := readStream(t, c, "s", esdb.ReadStreamOptions{}, 10); err != nil {
		t.Fatalf("stream gone after a failed delete: %v", err)
	}
}

func TestTombstonedStreamIsDeletedForGood(t *testing.T) {
	c := start(t)
	appendEvents(t, c, "s", esdb.NoStream{}, events("E", 2)...)
	if _, err := c.TombstoneStream(testContext(t), "s", esdb.TombstoneStreamOptions{ExpectedRevision: esdb.StreamExists{}}); err != nil {
		t.Fatalf("tombstone: %v", err)
	}
	_, err := readStream(t, c, "s", esdb.ReadStreamOptions{}, 10)
	if code, ok := errorCode(err); !ok || code != esdb.ErrorCodeStreamDeleted {
		t.Fatalf("read after tombstone: err = %v, want stream deleted", err)
	}
	_, err = c.AppendToStream(testContext(t), "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, jsonEvent("E", 9))
	if code, ok := errorCode(err); !ok || code != esdb.ErrorCodeStreamDeleted {
		t.Fatalf("append after tombstone: err = %v, want stream deleted", err)
	}
	all := readAll(t, c, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1)
	if len(all) != 1 || all[0].Event.EventType != "$streamDeleted" {
		t.Fatalf("last $all event = %+v, want the $streamDeleted tombstone", all)
	}
}
