package main

import (
	"slices"
	"testing"
	"time"
)

// BenchmarkInsertionToDecision measures, per insertion of a card into the
// reader, the time to a verified answer: the card read (14 APDUs) plus the
// server check (status and blacklist lookups in parallel) on a local
// cardledger. Each iteration pulls the card out and puts it back (the
// emulator's SIGUSR1). Run it with a fixed count:
//
//	SSCARD_REQUIRE=1 go test -run '^$' -bench InsertionToDecision -benchtime 50x ./cmd/cardbridge
//
// Metrics: agent-p50/p99-ms from the card being connected to the decision
// (what the agent controls), wall-p50/p99-ms from putting the card in
// (includes pcscd noticing it: it polls readers every 400 ms), read-ms
// and check-ms medians, apdus/read. With 50 insertions p99 is the slowest.
func BenchmarkInsertionToDecision(b *testing.B) {
	stack.Need(b)
	l := startLedger(b)
	cardNo := l.issueCard(b)
	a := startAgent(b, agentConfig(l.url, l.counter, ""))
	e := stack.StartCard(b, "--card-number", cardNo)
	if d := a.out.next(b, 10*time.Second, is(evDecision)); d.Decision.Decision != Accepted {
		b.Fatalf("warm-up decision: %s", d.raw)
	}
	var agentMS, wallMS, readMS, checkMS []float64
	var apdus uint64
	b.ResetTimer()
	for range b.N {
		e.Toggle(b)
		a.out.next(b, 5*time.Second, is(evCardRemoved))
		start := time.Now()
		e.Toggle(b)
		read := a.out.next(b, 10*time.Second, is(evCardRead))
		dec := a.out.next(b, 10*time.Second, is(evDecision))
		wallMS = append(wallMS, ms(time.Since(start)))
		if dec.Decision.Decision != Accepted || dec.Source != SourceServer {
			b.Fatalf("decision: %s", dec.raw)
		}
		agentMS = append(agentMS, dec.TotalMS)
		readMS = append(readMS, read.ReadMS)
		checkMS = append(checkMS, dec.CheckMS)
		apdus += read.APDUs
	}
	b.StopTimer()
	b.ReportMetric(quantile(agentMS, 0.5), "agent-p50-ms")
	b.ReportMetric(quantile(agentMS, 0.99), "agent-p99-ms")
	b.ReportMetric(quantile(wallMS, 0.5), "wall-p50-ms")
	b.ReportMetric(quantile(wallMS, 0.99), "wall-p99-ms")
	b.ReportMetric(quantile(readMS, 0.5), "read-p50-ms")
	b.ReportMetric(quantile(checkMS, 0.5), "check-p50-ms")
	b.ReportMetric(float64(apdus)/float64(b.N), "apdus/read")
}

// quantile is the nearest-rank q-quantile of xs.
func quantile(xs []float64, q float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}
