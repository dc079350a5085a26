package hwbridge

// The tests in reader_test.go run against a real PC/SC stack (package
// pcsctest: a private pcscd with vsmartcard's vpcd driver and the emulated
// social-security card testdata/sscard_vicc.py). The default card sits in
// the first vpcd slot for the whole run; tests that need a special card
// (blocked PIN, another application, faults) start their own emulator in
// the second slot.

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/cardledger/cardledger/hwbridge/pcsctest"
)

var stack pcsctest.Stack // written once by TestMain, read-only in tests

func TestMain(m *testing.M) { os.Exit(pcsctest.Main(m, &stack)) }

func needStack(t testing.TB) {
	t.Helper()
	stack.Need(t)
}

// testCtx is a context bounded well below the test binary's timeout.
func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// openReader opens name and closes it at the end of the test.
func openReader(t testing.TB, name string) *Reader {
	t.Helper()
	r, err := Open(testCtx(t, 5*time.Second), name)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// connected opens name and waits for its card.
func connected(t testing.TB, name string) *Reader {
	t.Helper()
	r := openReader(t, name)
	if _, err := r.WaitForCard(testCtx(t, 5*time.Second)); err != nil {
		t.Fatalf("WaitForCard(%q): %v", name, err)
	}
	return r
}

// emulator is a card started by a test in the second slot.
type emulator struct{ *pcsctest.Emulator }

// startCard runs sscard_vicc.py with args in the second slot (see
// pcsctest.Stack.StartCard).
func startCard(t testing.TB, args ...string) *emulator {
	t.Helper()
	return &emulator{stack.StartCard(t, args...)}
}

// toggle pulls the card out of the reader or pushes it back in.
func (e *emulator) toggle(t testing.TB) { e.Toggle(t) }

// waitSlot waits until reader has a card (present) or none.
func waitSlot(t testing.TB, reader string, present bool) time.Duration {
	t.Helper()
	return pcsctest.WaitSlot(t, reader, present)
}
