package pcsctest

import (
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebfe/scard"
)

// Emulator is a card a test started in the second slot.
type Emulator struct {
	cmd *exec.Cmd
}

// StartCard runs the emulator with args (see `sscard_vicc.py --help`) in the
// second slot, waits until PC/SC sees the card, and at the end of the test
// stops it and waits until the slot is empty again.
func (s *Stack) StartCard(t testing.TB, args ...string) *Emulator {
	t.Helper()
	args = append([]string{s.Emulator(), "-P", strconv.Itoa(s.Port + 1)}, args...)
	cmd := exec.Command("/usr/bin/python3", args...)
	cmd.Stderr = &logWriter{t: t}
	// A test binary killed by -timeout must not leave the card behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e := &Emulator{cmd: cmd}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		WaitSlot(t, s.Reader2, false)
	})
	WaitSlot(t, s.Reader2, true)
	return e
}

// Toggle pulls the card out of the reader or pushes it back in.
func (e *Emulator) Toggle(t testing.TB) {
	t.Helper()
	if err := e.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
}

// Signal sends sig to the emulator: SIGSTOP makes the card hang (it
// answers nothing until SIGCONT).
func (e *Emulator) Signal(sig syscall.Signal) error { return e.cmd.Process.Signal(sig) }

// WaitSlot waits (own PC/SC context, 5 s at most) until reader has a card
// (present) or none, and returns how long that took.
func WaitSlot(t testing.TB, reader string, present bool) time.Duration {
	t.Helper()
	start := time.Now()
	sc, err := scard.EstablishContext()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Release()
	rs := []scard.ReaderState{{Reader: reader, CurrentState: scard.StateUnaware}}
	for time.Since(start) < 5*time.Second {
		if err := sc.GetStatusChange(rs, 5*time.Second-time.Since(start)); err != nil && !errors.Is(err, scard.ErrTimeout) {
			t.Fatalf("GetStatusChange(%q): %v", reader, err)
		}
		if (rs[0].EventState&scard.StatePresent != 0) == present {
			return time.Since(start)
		}
		rs[0].CurrentState = rs[0].EventState &^ scard.StateChanged
	}
	t.Fatalf("%q: card present=%v not seen within 5s", reader, present)
	return 0
}

// logWriter sends the emulator's log to t.Log.
type logWriter struct{ t testing.TB }

func (w *logWriter) Write(p []byte) (int, error) {
	w.t.Log("emulator: " + strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
