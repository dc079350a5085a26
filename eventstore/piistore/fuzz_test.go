package piistore

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// Fuzz fixture: one person whose generation 1 key is live and generation 2
// erased; every other key is unknown.
var (
	fuzzSubject = "0123456789abcdef0123456789abcdef"
	fuzzKey     = []byte("0123456789abcdef0123456789abcdef")
	fuzzEventID = uuid.MustParse("6f1c3c1e-0000-4000-8000-000000000001")
)

func fuzzLookup(subject string, gen int) ([]byte, bool) {
	if subject != fuzzSubject {
		return nil, false
	}
	switch gen {
	case 1:
		return fuzzKey, false
	case 2:
		return nil, true
	}
	return nil, false
}

// fuzzSeal seals an event's personal fields under the fuzz key, as Store
// would store them.
func fuzzSeal(t testing.TB, e domain.Event) (string, []byte) {
	typ, data, err := domain.EncodeEvent(e)
	if err != nil {
		typ, data, err = domain.EncodeBatchEvent(e)
	}
	if err != nil {
		t.Fatal(err)
	}
	r := rules[typ]
	d := &doc{}
	if err := json.Unmarshal(data, &d.top); err != nil {
		t.Fatal(err)
	}
	objs, paths := []map[string]json.RawMessage{d.top}, []string{""}
	if r.array != "" {
		if err := json.Unmarshal(d.top[r.array], &d.elements); err != nil {
			t.Fatal(err)
		}
		objs, paths = d.elements, nil
		for j := range d.elements {
			paths = append(paths, r.array+"/"+string(rune('0'+j)))
		}
	}
	for i, obj := range objs {
		if err := sealObject(obj, personalFields(obj, r.fields), fuzzSubject, writeKey{gen: 1, key: fuzzKey}, fuzzEventID, typ, paths[i]); err != nil {
			t.Fatal(err)
		}
	}
	out, err := d.marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return typ, out
}

// FuzzOpenStored feeds damaged stored events to the read path: it must
// return the event opened or an ErrCorrupt / ErrNoDataKey error, never
// panic, and never hand back an envelope as if it were data.
func FuzzOpenStored(f *testing.F) {
	member := domain.BatchMember{CardholderID: fuzzSubject, ApplicationID: "a1", IDNumber: "320505199003071336",
		Name: "张三", Sex: domain.Male, BirthDate: "1990-03-07", Nationality: "CHN", RegionCode: "320505",
		Source: domain.SourceCounter, Kind: domain.FirstIssue, PhotoRef: "p.jpg"}
	for _, e := range []domain.Event{
		domain.CardholderRegistered{CardholderID: fuzzSubject, IDNumber: "320505199003071336", Name: "张三",
			Sex: domain.Male, BirthDate: "1990-03-07", Nationality: "CHN", RegionCode: "320505", Phone: "13800138000"},
		domain.CardApplied{ApplicationID: "a1", Source: domain.SourceCounter, Kind: domain.FirstIssue, PhotoRef: "p.jpg"},
		domain.BatchMembersAdded{Members: []domain.BatchMember{member, member}},
	} {
		typ, data := fuzzSeal(f, e)
		f.Add(typ, data)
	}
	f.Add("CardholderRegistered", []byte(`{"pii":{"v":1,"sub":"`+fuzzSubject+`","gen":2,"f":["name"],"n":"AAAAAAAAAAAAAAAA","ct":"AAAAAAAAAAAAAAAAAAAAAA=="}}`))
	f.Add("CardIssued", []byte(`{"card_no":"A12345678","reason":"\"pii\":"}`))
	f.Fuzz(func(t *testing.T, typ string, data []byte) {
		e := eventstore.RecordedEvent{Stream: "cardholder-" + fuzzSubject, ID: fuzzEventID, Type: typ, Data: data}
		d, err := parseSealed(e)
		if err == nil && d != nil {
			err = openDoc(&e, d, fuzzLookup)
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNoDataKey) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if d == nil {
			return
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal(e.Data, &top); err != nil {
			t.Fatalf("opened data is not a JSON object: %v", err)
		}
		if _, ok := top[envelopeField]; ok {
			t.Fatalf("opened data still holds an envelope: %s", e.Data)
		}
	})
}
