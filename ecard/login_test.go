package ecard

import (
	"testing"
	"time"
)

// TestLoginRateLimitPerAddress: perMin sessions at once per address, then
// one more each 60/perMin seconds; other addresses are not affected.
func TestLoginRateLimitPerAddress(t *testing.T) {
	l := newAddrLimiter(3)
	now := codeNow
	for i := range 3 {
		if _, ok := l.allow("10.0.0.1", now); !ok {
			t.Fatalf("session %d refused", i+1)
		}
	}
	wait, ok := l.allow("10.0.0.1", now)
	if ok || wait != 20*time.Second {
		t.Fatalf("4th session: ok %v, wait %v; want refused, 20s", ok, wait)
	}
	if _, ok := l.allow("10.0.0.2", now); !ok {
		t.Fatal("another address is limited too")
	}
	if _, ok := l.allow("10.0.0.1", now.Add(20*time.Second)); !ok {
		t.Fatal("a token should be back after 20s")
	}
	off := newAddrLimiter(LoginRateOff)
	for range 100 {
		if _, ok := off.allow("10.0.0.1", now); !ok {
			t.Fatal("the limit is off")
		}
	}
}
