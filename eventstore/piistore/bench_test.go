package piistore

import (
	"encoding/json"
	"testing"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// BenchmarkOpenRegistered is the read-path cost per sealed registration
// with its key cached: what every projection pays per such event.
func BenchmarkOpenRegistered(b *testing.B) {
	typ, data := fuzzSeal(b, domain.CardholderRegistered{CardholderID: fuzzSubject, IDNumber: "320505199003071336",
		Name: "张三", Sex: domain.Male, BirthDate: "1990-03-07", Nationality: "CHN", RegionCode: "320505", Phone: "13800138000"})
	b.ReportAllocs()
	for b.Loop() {
		e := eventstore.RecordedEvent{Stream: "cardholder-" + fuzzSubject, ID: fuzzEventID, Type: typ, Data: data}
		d, err := parseSealed(e)
		if err != nil || d == nil {
			b.Fatal(err)
		}
		if err := openDoc(&e, d, fuzzLookup); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealRegistered is the append-path cost per registration, key cached.
func BenchmarkSealRegistered(b *testing.B) {
	_, data, err := domain.EncodeEvent(domain.CardholderRegistered{CardholderID: fuzzSubject, IDNumber: "320505199003071336",
		Name: "张三", Sex: domain.Male, BirthDate: "1990-03-07", Nationality: "CHN", RegionCode: "320505", Phone: "13800138000"})
	if err != nil {
		b.Fatal(err)
	}
	r := rules["CardholderRegistered"]
	b.ReportAllocs()
	for b.Loop() {
		d := &doc{}
		if err := json.Unmarshal(data, &d.top); err != nil {
			b.Fatal(err)
		}
		if err := sealObject(d.top, personalFields(d.top, r.fields), fuzzSubject, writeKey{gen: 1, key: fuzzKey}, fuzzEventID, "CardholderRegistered", ""); err != nil {
			b.Fatal(err)
		}
		if _, err := d.marshal(r); err != nil {
			b.Fatal(err)
		}
	}
}
