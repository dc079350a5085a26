package main

// The agent's tests run it in-process (run) against the real PC/SC stack of
// package pcsctest (cards in the second vpcd slot) and a real cardledger:
// the `cardledger` binary, built once per test binary, migrating and
// serving a private database from testpg.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cardledger/cardledger/hwbridge/pcsctest"
	"github.com/cardledger/cardledger/internal/testpg"
)

var stack pcsctest.Stack // written once by TestMain, read-only in tests

// binDir holds the cardledger binary, built on first use.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cardbridge-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := pcsctest.Main(m, &stack)
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildOnce sync.Once
	buildErr  error
)

// cardledgerBin builds ./cmd/cardledger once for the whole test binary.
func cardledgerBin(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(binDir, "cardledger")
	buildOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "../cardledger").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build cardledger: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bin
}

// ledger is a cardledger server process on a private database.
type ledger struct {
	bin      string
	env      []string
	url      string
	admin    string // admin key: the test's own commands
	counter  string // counter key: what a service counter's agent gets
	consumer string // blacklist-consumer key: offline sync, and agents at hospitals
	cmd      *exec.Cmd
	done     chan error
}

// startLedger starts a cardledger on a fresh database; env adds variables
// (CARDLEDGER_CLICKHOUSE_URL turns the usage API on).
func startLedger(t testing.TB, env ...string) *ledger {
	t.Helper()
	l := &ledger{bin: cardledgerBin(t)}
	port := freePort(t)
	l.url = "http://127.0.0.1:" + port
	l.env = append(os.Environ(),
		"CARDLEDGER_POSTGRES_URL="+testpg.NewDatabase(t),
		"CARDLEDGER_LISTEN=127.0.0.1:"+port,
		"CARDLEDGER_LOG_LEVEL=warn",
		"CARDLEDGER_ID_KEY=00112233445566778899aabbccddeeff",
		"CARDLEDGER_CLICKHOUSE_URL=",
	)
	l.env = append(l.env, env...) // later entries win
	l.cli(t, "migrate")
	l.admin = l.addClient(t, "test-admin", "admin")
	l.counter = l.addClient(t, "counter-1", "counter")
	l.consumer = l.addClient(t, "pharmacy-1", "blacklist-consumer")
	l.start(t)
	t.Cleanup(func() { l.stop(t) })
	return l
}

// cli runs a cardledger command and returns its stdout.
func (l *ledger) cli(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, l.bin, args...)
	cmd.Env = l.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cardledger %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func (l *ledger) addClient(t testing.TB, name, role string) string {
	t.Helper()
	out := strings.Split(strings.TrimSpace(l.cli(t, "clients", "add", "--name", name, "--role", role)), "\n")
	return strings.TrimSpace(out[len(out)-1]) // the key alone on the last line
}

// start runs `cardledger serve` and waits until /healthz answers 200.
func (l *ledger) start(t testing.TB) {
	t.Helper()
	cmd := exec.Command(l.bin, "serve")
	cmd.Env = l.env
	cmd.Stderr = &testLog{t: t, prefix: "cardledger: "}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l.cmd, l.done = cmd, make(chan error, 1)
	go func() { l.done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(l.url + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-l.done:
			t.Fatalf("cardledger serve exited: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatal("cardledger serve: /healthz not 200 within 30s")
}

// stop ends the server (the outage the agent must ride out).
func (l *ledger) stop(t testing.TB) {
	t.Helper()
	if l.cmd == nil {
		return
	}
	l.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-l.done:
	case <-time.After(15 * time.Second):
		l.cmd.Process.Kill()
		<-l.done
	}
	l.cmd = nil
}

// do sends a request with the admin key and decodes the JSON answer.
func (l *ledger) do(t testing.TB, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, l.url+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+l.admin)
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Timeout: 30 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return res.StatusCode, out
}

// holder is the emulator's default card holder (sscard_vicc.py).
var holder = struct{ idNumber, name, maskedID, maskedName string }{
	"110105199003072311", "张三", "110***********2311", "张*",
}

// issueCard registers the emulator's holder and issues a card at the
// counter; it returns the card number.
func (l *ledger) issueCard(t testing.TB) string {
	t.Helper()
	status, reg := l.do(t, "POST", "/v1/cardholders", map[string]string{
		"id_number": holder.idNumber, "name": holder.name, "sex": "male", "nationality": "CHN",
		"region_code": "110105", "phone": "13800000000",
	})
	if status != http.StatusCreated {
		t.Fatalf("register: %d %v", status, reg)
	}
	status, issued := l.do(t, "POST", "/v1/cardholders/"+reg["cardholder_id"].(string)+"/instant-issuance",
		map[string]string{"bank_code": "ICBC", "account_no": "6212260200012345678", "chip_id": "0123456789ABCDEF0123456789ABCDEF"})
	if status != http.StatusOK {
		t.Fatalf("instant issuance: %d %v", status, issued)
	}
	cardNo := issued["card_no"].(string)
	l.waitRead(t, cardNo, issued["position"].(string))
	return cardNo
}

// command runs a card command (loss, unlock, ...) and waits until the read
// model has it, so the agent's next lookup sees it.
func (l *ledger) command(t testing.TB, cardNo, verb string) {
	t.Helper()
	status, res := l.do(t, "POST", "/v1/cards/"+cardNo+"/"+verb, map[string]string{"reason": "test"})
	if status != http.StatusOK {
		t.Fatalf("%s: %d %v", verb, status, res)
	}
	l.waitRead(t, cardNo, res["position"].(string))
}

func (l *ledger) waitRead(t testing.TB, cardNo, position string) {
	t.Helper()
	if status, res := l.do(t, "GET", "/v1/cards/"+cardNo+"?min_position="+position, nil); status != http.StatusOK {
		t.Fatalf("read-your-writes on %s: %d %v", cardNo, status, res)
	}
}

// syncOffline brings the offline copy in dir up to date the way a counter
// PC does, with `cardledger blacklist sync --once`.
func (l *ledger) syncOffline(t testing.TB, dir string) {
	t.Helper()
	l.cli(t, "blacklist", "sync", "--once", "--dir", dir, "--server-url", l.url, "--api-key", l.consumer)
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// runningAgent is run() in a goroutine with its stdout captured.
type runningAgent struct {
	out    *eventLines
	listen string // the local endpoint, from agent_started
}

// startAgent runs the agent until the end of the test.
func startAgent(t testing.TB, cfg Config) *runningAgent {
	t.Helper()
	out := &eventLines{changed: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("run did not return within 10s of cancel")
		}
	})
	started := out.next(t, 5*time.Second, is(evStarted))
	return &runningAgent{out: out, listen: started.Listen}
}

// agentConfig is the configuration a counter PC would have, with test
// timeouts, watching the second vpcd slot.
func agentConfig(server, key, dir string) Config {
	return Config{
		Reader: stack.Reader2, Server: server, Key: key, BlacklistDir: dir,
		Listen: "127.0.0.1:0", LatestHolder: "full", Merchant: "test counter",
		ReadTimeout: 5 * time.Second, ServerTimeout: time.Second, UsageTimeout: 2 * time.Second,
		ReaderPoll: 100 * time.Millisecond,
	}
}

// latest fetches /latest (with ?after=seq when seq > 0).
func (a *runningAgent) latest(t testing.TB, after uint64) Latest {
	t.Helper()
	url := "http://" + a.listen + "/latest"
	if after > 0 {
		url += fmt.Sprintf("?after=%d&wait=5s", after)
	}
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var l Latest
	if err := json.NewDecoder(res.Body).Decode(&l); err != nil {
		t.Fatal(err)
	}
	return l
}

// logged is one stdout line: the decoded event and the raw text.
type logged struct {
	Event
	raw string
}

// eventLines collects the agent's stdout, one event per line.
type eventLines struct {
	mu      sync.Mutex
	partial []byte
	lines   []logged
	read    int           // next() has consumed lines[:read]
	changed chan struct{} // closed and replaced when a line arrives
	bad     error
}

func (e *eventLines) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.partial = append(e.partial, p...)
	for {
		i := bytes.IndexByte(e.partial, '\n')
		if i < 0 {
			break
		}
		line := string(e.partial[:i])
		e.partial = e.partial[i+1:]
		var ev Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil && e.bad == nil {
			e.bad = fmt.Errorf("stdout line is not JSON: %v: %q", err, line)
		}
		e.lines = append(e.lines, logged{Event: ev, raw: line})
	}
	close(e.changed)
	e.changed = make(chan struct{})
	return len(p), nil
}

// next returns the first line after the last one next returned that
// matches, failing the test after timeout.
func (e *eventLines) next(t testing.TB, timeout time.Duration, match func(logged) bool) logged {
	t.Helper()
	deadline := time.After(timeout)
	for {
		e.mu.Lock()
		if e.bad != nil {
			e.mu.Unlock()
			t.Fatal(e.bad)
		}
		for e.read < len(e.lines) {
			l := e.lines[e.read]
			e.read++
			if match(l) {
				e.mu.Unlock()
				return l
			}
		}
		changed := e.changed
		e.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no matching event within %v; log so far:\n%s", timeout, e.text())
		}
	}
}

// text is the whole log so far.
func (e *eventLines) text() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for _, l := range e.lines {
		b.WriteString(l.raw + "\n")
	}
	return b.String()
}

func is(event string) func(logged) bool {
	return func(l logged) bool { return l.Event.Event == event }
}

func isError(kind string) func(logged) bool {
	return func(l logged) bool { return l.Event.Event == evError && l.Kind == kind }
}

// testLog sends a process's stderr to t.Log.
type testLog struct {
	t      testing.TB
	prefix string
}

func (w *testLog) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(p))
	for sc.Scan() {
		w.t.Log(w.prefix + sc.Text())
	}
	return len(p), nil
}
