package notifications_test

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/notifications"
)

// BenchmarkNotifier: CARDLEDGER_BENCH_HOLDERS holders (default 200) have
// their card handed over to a pick-up point; the figure is the time from
// the notifier's start until it has sent every SMS (to the simulator over
// HTTP) and e-mail (to the in-process SMTP server), one connection per
// e-mail, all on this machine. Setup (the commands) is not timed.
func BenchmarkNotifier(b *testing.B) {
	n := 200
	if v, err := strconv.Atoi(os.Getenv("CARDLEDGER_BENCH_HOLDERS")); err == nil && v > 0 && v <= 999 {
		n = v
	}
	for range b.N {
		b.StopTimer()
		e := newEnv(b, 0)
		for i := range n {
			_, cardNo := e.person(i, "张三丰", "13800138001", "zsf@mail.example.cn")
			e.card(domain.HandOverCard{CardNo: cardNo, From: "vendor", To: "pt-gulou", Handler: "h"}, cardNo)
		}
		b.StartTimer()
		start := time.Now()
		e.caughtUp(e.notifier(notifications.Options{}))
		elapsed := time.Since(start)
		if got := len(e.sms.Received()) + len(e.box.messages()); got != 2*n {
			b.Fatalf("sent %d messages, want %d", got, 2*n)
		}
		b.ReportMetric(float64(2*n)/elapsed.Seconds(), "messages/s")
	}
}
