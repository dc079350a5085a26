// Package pcsctest runs tests against a real PC/SC stack: a private pcscd
// with vsmartcard's vpcd driver and the emulated social-security card
// hwbridge/testdata/sscard_vicc.py, started by scripts/pcsc.
//
//	var stack pcsctest.Stack
//
//	func TestMain(m *testing.M) { os.Exit(pcsctest.Main(m, &stack)) }
//
//	func TestX(t *testing.T) {
//		stack.Need(t)                                  // skips without the packages
//		e := stack.StartCard(t, "--card-number", "A00000042") // second slot
//		... open stack.Reader2 ...
//		e.Toggle(t)                                    // pull the card / push it back
//	}
//
// Invariants:
//   - The default card sits in the first vpcd slot (Stack.Reader) for the
//     whole run; the second slot (Stack.Reader2) is empty unless a test
//     started a card there, and StartCard's cleanup waits until it is empty
//     again, so the next test starts clean.
//   - Without the Debian packages the tests skip (Need), unless
//     SSCARD_REQUIRE=1 (CI), which makes Main fail instead. If the packages
//     are there, failing to start the stack is always a failure.
//   - The stack is stopped when the test binary ends, even when it is
//     killed (-timeout): a detached watchdog stops it once the process is
//     gone, and emulators die with the test binary (Pdeathsig).
//   - Main sets PCSCLITE_CSOCK_NAME before anything talks to PC/SC: the
//     client library reads it once, at the first SCardEstablishContext.
//   - Main does nothing when the binary runs fuzz targets (-test.fuzz):
//     fuzz workers rerun TestMain and must not each start a pcscd.
package pcsctest

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

// Stack describes the running stack; Skip is set when it is not there.
type Stack struct {
	Skip     string
	StateDir string
	Reader   string // the default card
	Reader2  string // the second vpcd slot, for cards tests start
	CardPID  int    // the default card's emulator (SIGUSR1 pulls it / pushes it back)
	Port     int    // vpcd port of the default card; Port+1 is Reader2's
	// Root is the repository root (scripts/pcsc and the emulator are found
	// from there).
	Root string
}

// RequiredFiles are what the stack needs on the machine.
var RequiredFiles = []string{
	"/usr/sbin/pcscd",
	"/usr/lib/pcsc/drivers/serial/libifdvpcd.so",
	"/usr/lib/python3/site-packages/virtualsmartcard", // python3-virtualsmartcard
	"/usr/lib/python3/dist-packages/Cryptodome",       // python3-pycryptodome
	"/usr/bin/python3",
}

// Main starts the stack into s, runs the tests and stops the stack; it
// returns the exit code for os.Exit.
func Main(m *testing.M, s *Stack) int {
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		s.Skip = "fuzzing: PC/SC stack not started"
		return m.Run()
	}
	var missing []string
	for _, p := range RequiredFiles {
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
		s.Skip = msg
		return m.Run()
	}
	err := s.start()
	defer s.stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start virtual card stack:", err)
		return 1
	}
	return m.Run()
}

// Need skips t when the stack is not running.
func (s *Stack) Need(t testing.TB) {
	t.Helper()
	if s.Skip != "" {
		t.Skip(s.Skip)
	}
}

func (s *Stack) script(name string) string {
	return filepath.Join(s.Root, "scripts", "pcsc", name)
}

// Emulator is the emulated card's script.
func (s *Stack) Emulator() string {
	return filepath.Join(s.Root, "hwbridge", "testdata", "sscard_vicc.py")
}

func (s *Stack) start() error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	s.Root = root
	dir, err := os.MkdirTemp("", "hwbridge-pcsc-")
	if err != nil {
		return err
	}
	s.StateDir = dir
	if err := s.startWatchdog(); err != nil {
		return err
	}
	port, err := freePortPair()
	if err != nil {
		return err
	}
	s.Port = port
	if err := s.runStart(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	names, err := listReaders(ctx)
	if err != nil {
		return err
	}
	for _, n := range names {
		if n != s.Reader && strings.HasPrefix(n, "Virtual PCD") {
			s.Reader2 = n
		}
	}
	if s.Reader == "" || s.Reader2 == "" || s.CardPID == 0 {
		return fmt.Errorf("stack incomplete: readers %q, reader %q, card pid %d", names, s.Reader, s.CardPID)
	}
	return nil
}

// runStart runs start-virtual-card.sh and reads what it started.
func (s *Stack) runStart() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.script("start-virtual-card.sh"))
	cmd.Env = append(os.Environ(), "STATE_DIR="+s.StateDir, "VPCD_PORT="+strconv.Itoa(s.Port), "NO_INSTALL=1", "CARD_ARGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("start-virtual-card.sh: %v\n%s", err, out)
	}
	kv, err := readKV(filepath.Join(s.StateDir, "pids"))
	if err != nil {
		return err
	}
	// pcsc-lite reads this once, at the first SCardEstablishContext; a
	// restart keeps the same path.
	os.Setenv("PCSCLITE_CSOCK_NAME", kv["PCSCLITE_CSOCK_NAME"])
	s.Reader = kv["READER"]
	s.CardPID, _ = strconv.Atoi(kv["CARD_PID"])
	return nil
}

func (s *Stack) runStop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.script("stop-virtual-card.sh"))
	cmd.Env = append(os.Environ(), "STATE_DIR="+s.StateDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("stop-virtual-card.sh: %v\n%s", err, out)
	}
	return nil
}

func (s *Stack) stop() {
	if s.StateDir == "" {
		return
	}
	if err := s.runStop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.RemoveAll(s.StateDir)
}

// StopPCSC stops pcscd and the default card: every reader disappears from
// PC/SC, as when the reader is unplugged. Emulators started by StartCard
// keep running and reconnect to vpcd once pcscd is back.
func (s *Stack) StopPCSC(t testing.TB) {
	t.Helper()
	if err := s.runStop(); err != nil {
		t.Fatal(err)
	}
}

// StartPCSC starts pcscd and the default card again after StopPCSC, on the
// same socket, ports and reader names.
func (s *Stack) StartPCSC(t testing.TB) {
	t.Helper()
	if err := s.runStart(); err != nil {
		t.Fatal(err)
	}
}

// startWatchdog starts a detached shell that stops the stack once this
// process is gone: a test binary killed by -timeout never runs TestMain's
// cleanup, and pcscd and the card run in their own sessions. After a normal
// exit the stack is already stopped and the shell finds nothing to do.
func (s *Stack) startWatchdog() error {
	wd := exec.Command("/bin/sh", "-c",
		`while kill -0 "$0" 2>/dev/null; do sleep 1; done; "$1" >/dev/null 2>&1; rm -rf "$STATE_DIR"`,
		strconv.Itoa(os.Getpid()), s.script("stop-virtual-card.sh"))
	wd.Env = append(os.Environ(), "STATE_DIR="+s.StateDir)
	// Own session, and no stdout/stderr: go test waits for those to close.
	wd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := wd.Start(); err != nil {
		return fmt.Errorf("start watchdog: %w", err)
	}
	return wd.Process.Release()
}

// repoRoot finds the directory holding scripts/pcsc above the working
// directory (go test runs in the package's directory).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "scripts", "pcsc", "start-virtual-card.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("scripts/pcsc/start-virtual-card.sh not found above the working directory")
		}
		dir = parent
	}
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

func listReaders(ctx context.Context) ([]string, error) {
	sc, err := scard.EstablishContext()
	if err != nil {
		return nil, fmt.Errorf("establish PC/SC context: %w", err)
	}
	defer sc.Release()
	for {
		names, err := sc.ListReaders()
		if err == nil && len(names) >= 2 {
			return names, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("list readers: %v (%v)", err, ctx.Err())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
