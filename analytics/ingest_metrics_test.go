package analytics_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
)

// The ingest counters add up exactly what the calls reported: recorded,
// duplicates (the same batch again), rejected (a record that does not parse).
func TestIngestMetricsCountRecordsByResult(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := analytics.NewIngestMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	const card = "A00000001"
	in := analytics.NewIngester(pgstoretest.OpenTest(t), knownCards{card: true}, nil).WithMetrics(m)
	ctx := context.Background()
	records := cardMonth("r", card, 3)
	for range 2 { // recorded, then duplicates
		if _, err := in.Ingest(ctx, records, false, domain.Actor{}); err != nil {
			t.Fatal(err)
		}
	}
	bad := cardMonth("b", card, 2)
	bad[1].Amount = "not a number"
	if res, err := in.Ingest(ctx, bad, false, domain.Actor{}); err != nil || res.Recorded != 1 || len(res.Rejected) != 1 {
		t.Fatalf("%+v, %v", res, err)
	}
	want := `
# HELP cardledger_usage_records_total Usage records ingested, by result (recorded, duplicate, rejected).
# TYPE cardledger_usage_records_total counter
cardledger_usage_records_total{result="duplicate"} 3
cardledger_usage_records_total{result="recorded"} 4
cardledger_usage_records_total{result="rejected"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}
