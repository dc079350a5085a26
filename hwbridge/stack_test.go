package hwbridge

// The tests in reader_test.go run against a real PC/SC stack: a private
// pcscd with vsmartcard's vpcd driver and the emulated social-security card
// hwbridge/testdata/sscard_vicc.py, started by scripts/pcsc. The default
// card sits in the first vpcd slot for the whole run; tests that need a
// special card (blocked PIN, another application, faults) start their own
// emulator in the second slot.
//
// Without the Debian packages the stack tests are skipped, unless
// SSCARD_REQUIRE=1 (CI), which turns that into a failure. If the packages
// are there, failing to start the stack is always a failure.

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebfe/scard"
)

// stackEnv describes the running stack; skip is set when it is not there.
type stackEnv struct {
	skip     string
	stateDir string
	reader   string // default card
	reader2  string // second vpcd slot, empty until a test starts a card
	cardPID  int
	port     int // vpcd port of the default card; port+1 is reader2
}

var stack stackEnv // written once by TestMain, read-only in tests

var requiredFiles = []string{
	"/usr/sbin/pcscd",
	"/usr/lib/pcsc/drivers/serial/libifdvpcd.so",
	"/usr/lib/python3/site-packages/virtualsmartcard", // python3-virtualsmartcard
	"/usr/lib/python3/dist-packages/Cryptodome",       // python3-pycryptodome
	"/usr/bin/python3",
}

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		// The fuzz targets need no card; fuzz workers rerun TestMain and
		// must not each start a pcscd.
		stack.skip = "fuzzing: PC/SC stack not started"
		return m.Run()
	}
	var missing []string
	for _, p := range requiredFiles {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("PC/SC test stack not installed (missing %s); install pcscd libpcsclite-dev vsmartcard-vpcd python3-virtualsmartcard python3-pycryptodome", strings.Join(missing, ", "))
		if os.Getenv("SSCARD_REQUIRE") == "1" {
			fmt.Fprintln(os.Stderr, "SSCARD_REQUIRE=1:", msg)
			return 1
		}
		stack.skip = msg
		return m.Run()
	}
	err := startStack()
	defer stopStack()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start virtual card stack:", err)
		return 1
	}
	return m.Run()
}

func startStack() error {
	dir, err := os.MkdirTemp("", "hwbridge-pcsc-")
	if err != nil {
		return err
	}
	stack.stateDir = dir
	if err := startWatchdog(dir); err != nil {
		return err
	}
	port, err := freePortPair()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "../scripts/pcsc/start-virtual-card.sh")
	cmd.Env = append(os.Environ(), "STATE_DIR="+dir, "VPCD_PORT="+strconv.Itoa(port), "NO_INSTALL=1", "CARD_ARGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("start-virtual-card.sh: %v\n%s", err, out)
	}
	kv, err := readKV(filepath.Join(dir, "pids"))
	if err != nil {
		return err
	}
	// pcsc-lite reads this once, at the first SCardEstablishContext.
	os.Setenv("PCSCLITE_CSOCK_NAME", kv["PCSCLITE_CSOCK_NAME"])
	stack.reader = kv["READER"]
	stack.cardPID, _ = strconv.Atoi(kv["CARD_PID"])
	stack.port = port
	names, err := ListReaders(ctx)
	if err != nil {
		return err
	}
	for _, n := range names {
		if n != stack.reader && strings.HasPrefix(n, "Virtual PCD") {
			stack.reader2 = n
		}
	}
	if stack.reader == "" || stack.reader2 == "" || stack.cardPID == 0 {
		return fmt.Errorf("stack incomplete: readers %q, pids %v", names, kv)
	}
	return nil
}

func stopStack() {
	if stack.stateDir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "../scripts/pcsc/stop-virtual-card.sh")
	cmd.Env = append(os.Environ(), "STATE_DIR="+stack.stateDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "stop-virtual-card.sh: %v\n%s", err, out)
	}
	os.RemoveAll(stack.stateDir)
}

// startWatchdog starts a detached shell that stops the stack once this
// process is gone: a test binary killed by -timeout never runs TestMain's
// cleanup, and pcscd and the card run in their own sessions. After a normal
// exit the stack is already stopped and the shell finds nothing to do.
func startWatchdog(stateDir string) error {
	stop, err := filepath.Abs("../scripts/pcsc/stop-virtual-card.sh")
	if err != nil {
		return err
	}
	wd := exec.Command("/bin/sh", "-c",
		`while kill -0 "$0" 2>/dev/null; do sleep 1; done; "$1" >/dev/null 2>&1; rm -rf "$STATE_DIR"`,
		strconv.Itoa(os.Getpid()), stop)
	wd.Env = append(os.Environ(), "STATE_DIR="+stateDir)
	// Own session, and no stdout/stderr: go test waits for those to close.
	wd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := wd.Start(); err != nil {
		return fmt.Errorf("start watchdog: %w", err)
	}
	return wd.Process.Release()
}

// freePortPair finds p such that TCP ports p and p+1 are free (vpcd takes
// both for its two slots).
func freePortPair() (int, error) {
	for range 50 {
		l1, err := net.Listen("tcp", "0.0.0.0:0")
		if err != nil {
			return 0, err
		}
		p := l1.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", fmt.Sprintf("0.0.0.0:%d", p+1))
		l1.Close()
		if err == nil {
			l2.Close()
			return p, nil
		}
	}
	return 0, errors.New("no free port pair")
}

func readKV(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	kv := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			kv[k] = v
		}
	}
	return kv, sc.Err()
}

func needStack(t testing.TB) {
	t.Helper()
	if stack.skip != "" {
		t.Skip(stack.skip)
	}
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
type emulator struct {
	cmd *exec.Cmd
}

// startCard runs sscard_vicc.py with args in the second slot, waits until
// PC/SC sees the card, and at the end stops it and waits until the slot is
// empty again, so the next test starts clean.
func startCard(t testing.TB, args ...string) *emulator {
	t.Helper()
	args = append([]string{"testdata/sscard_vicc.py", "-P", strconv.Itoa(stack.port + 1)}, args...)
	cmd := exec.Command("/usr/bin/python3", args...)
	cmd.Stderr = &prefixWriter{t: t}
	// A test binary killed by -timeout must not leave the card behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e := &emulator{cmd: cmd}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		waitSlot(t, stack.reader2, false)
	})
	waitSlot(t, stack.reader2, true)
	return e
}

// toggle pulls the card out of the reader or pushes it back in.
func (e *emulator) toggle(t testing.TB) {
	t.Helper()
	if err := e.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
}

// waitSlot waits (own PC/SC context, 5 s at most) until reader has a card
// (present) or none.
func waitSlot(t testing.TB, reader string, present bool) time.Duration {
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

// prefixWriter sends the emulator's log to t.Log.
type prefixWriter struct{ t testing.TB }

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.t.Log("emulator: " + strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
