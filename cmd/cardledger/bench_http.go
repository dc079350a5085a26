package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/devtools/bench"
	"github.com/cardledger/cardledger/internal/devtools/loadgen"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// httpBenchFlags are `bench http`'s own flags; every other flag set on the
// command line is a common flag and goes to the server it starts too.
type httpBenchFlags struct {
	url, key string
	cards    *int
	hotShare *float64
	raw      *bool
	count    *int
	profile  *string
	memprof  *string
}

func (h *httpBenchFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&h.url, "url", "", "base URL of a running server to drive (default: start one in this process, as `serve` does)")
	fs.StringVar(&h.key, "key", "", "with --url: an admin API key of that server")
	h.cards = fs.Int("cards", 0, "distinct active cards to set up (default: 8 per client)")
	h.hotShare = fs.Float64("hot-share", 0, "fraction of the commands sent to one card all clients share (0..1)")
	h.raw = fs.Bool("raw", true, "run the raw single-row INSERT baseline in the same invocation")
	h.count = fs.Int("count", 0, "also send this many commands one at a time and print what each cost the database "+
		"(pg_stat_database, pg_stat_user_tables, projection batches); 0: skip")
	h.profile = fs.String("cpuprofile", "", "write a CPU profile of this process (bench clients and, without --url, the server) during the timed run to this file")
	h.memprof = fs.String("memprofile", "", "write this process's allocations during the timed run to this file "+
		"(and those before it to FILE.base: go tool pprof -sample_index=alloc_space -base FILE.base FILE)")
}

var httpBenchOwnFlags = map[string]bool{"n": true, "concurrency": true, "url": true, "key": true, "cards": true,
	"hot-share": true, "raw": true, "count": true, "cpuprofile": true, "memprofile": true}

// runBenchHTTP measures commands as a client sees them: over HTTP, with
// authentication, idempotency keys, the event store with sealing and the
// hash chain, and (unless --projections=false) projections and audit
// running in the server, next to raw single-row INSERTs into the same
// database in the same invocation.
func runBenchHTTP(ctx context.Context, env *environment, d *deps, fs *flag.FlagSet, h httpBenchFlags, n, workers int) error {
	if n <= 0 || workers <= 0 {
		return usagef("-n and -concurrency must be positive")
	}
	if *h.hotShare < 0 || *h.hotShare > 1 {
		return usagef("--hot-share must be between 0 and 1")
	}
	if (h.url == "") != (h.key == "") {
		return usagef("--url and --key go together")
	}
	cards := *h.cards
	if cards == 0 {
		cards = 8 * workers
	}
	if *h.hotShare > 0 {
		cards++ // the hot card
	}
	out := env.stdout
	var common []string // the common flags set on the command line, for the server
	fs.Visit(func(f *flag.Flag) {
		if !httpBenchOwnFlags[f.Name] {
			common = append(common, "--"+f.Name+"="+f.Value.String())
		}
	})
	pool, err := d.openPool(ctx)
	if err != nil {
		return err
	}
	client := bench.NewHTTPClient(workers)
	target := &bench.HTTP{BaseURL: h.url, Key: h.key, Client: client, Progress: benchProgress(env, d)}
	if h.url == "" {
		srv, err := startBenchServer(ctx, env, d, common)
		if err != nil {
			return err
		}
		defer srv.stop()
		target.BaseURL, target.Key = srv.url, srv.key
		fmt.Fprintf(out, "server: started in this process on %s (serve, projections=%t, audit, idempotency, authentication; database %s)\n",
			srv.url, d.cfg.Projections, redactURL(d.cfg.PostgresURL))
	} else {
		fmt.Fprintf(out, "server: %s\n", h.url)
	}
	fmt.Fprintf(out, "set-up: %d active cards over HTTP\n", cards)
	cardNos, err := target.SetUpCards(ctx, cards, workers)
	if err != nil {
		return err
	}
	var raw loadgen.Result
	if *h.raw {
		raw, err = loadgen.RawInsert(ctx, pool, n, workers)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, raw)
	}
	fmt.Fprintf(out, "load: %d temporary-loss/unlock commands, %d clients on distinct cards, hot-card share %.2f\n", n, workers, *h.hotShare)
	stopProfile, err := startCPUProfile(*h.profile)
	if err != nil {
		return err
	}
	if err := writeAllocProfile(*h.memprof, ".base"); err != nil {
		return err
	}
	cpuBefore := processCPU()
	before, err := readProjectionCounters(ctx, target)
	if err != nil {
		return err
	}
	res, err := target.Run(ctx, cardNos, bench.HTTPLoad{Commands: n, Concurrency: workers, HotShare: *h.hotShare})
	cpu := processCPU() - cpuBefore
	stopProfile()
	if err != nil {
		return err
	}
	if err := writeAllocProfile(*h.memprof, ""); err != nil {
		return err
	}
	after, err := readProjectionCounters(ctx, target)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%-34s %s\n", "commands over HTTP", res)
	fmt.Fprintf(out, "CPU of this process during the load (user+system, server and bench clients): %.0f ms, %.3f ms per command\n",
		ms(cpu), ms(cpu)/float64(n))
	if *h.raw {
		fmt.Fprintf(out, "commands/s ÷ raw inserts/s = %.2f\n", res.PerSecond/raw.PerSecond)
	}
	v := res.Visibility
	fmt.Fprintf(out, "loss → visible in the blacklist feed: %d losses, p50 %.1f ms, p99 %.1f ms, max %.1f ms, %d not seen within 5 s\n",
		v.N, ms(v.P50), ms(v.P99), ms(v.Max), res.Unseen)
	if res.FeedErr != nil {
		fmt.Fprintf(out, "the feed consumer stopped: %v\n", res.FeedErr)
	}
	var batching []string
	for _, name := range slices.Sorted(maps.Keys(after.batches)) {
		if b := after.batches[name] - before.batches[name]; b > 0 {
			batching = append(batching, fmt.Sprintf("%s %.1f", name, (after.events[name]-before.events[name])/b))
		}
	}
	if len(batching) > 0 {
		fmt.Fprintf(out, "projections during the load, events per batch (one transaction each): %s\n", strings.Join(batching, ", "))
	}
	if *h.count > 0 {
		if err := countCommands(ctx, env, d, target, cardNos, *h.count); err != nil {
			return err
		}
	}
	if res.Errors > 0 {
		return fmt.Errorf("bench: %d commands failed, first: %w", res.Errors, res.FirstErr)
	}
	return nil
}

// startCPUProfile profiles this process into file ("": no profile).
func startCPUProfile(file string) (stop func(), err error) {
	if file == "" {
		return func() {}, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// writeAllocProfile writes the allocations so far to file+suffix (file "":
// none). Its counts are cumulative: the run's own are the difference from
// the .base profile written before it.
func writeAllocProfile(file, suffix string) error {
	if file == "" {
		return nil
	}
	runtime.GC() // the profile shows allocations up to the last collection
	f, err := os.Create(file + suffix)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", file+suffix, err)
	}
	return f.Close()
}

// processCPU is the CPU time this process used so far, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// benchServer is `serve` running in this process for the bench.
type benchServer struct {
	url, key string
	stop     func()
}

// startBenchServer migrates (as make run does), adds an admin client
// without a rate limit, and runs the serve code path on a free port of
// this host, with the configuration this command got. Its log goes to
// stderr at warn level unless --log-level says otherwise.
func startBenchServer(ctx context.Context, env *environment, d *deps, common []string) (*benchServer, error) {
	quiet := &environment{stdout: io.Discard, stderr: env.stderr, getenv: env.getenv}
	if err := runMigrate(ctx, &environment{stdout: io.Discard, stderr: io.Discard, getenv: env.getenv}, common); err != nil {
		return nil, fmt.Errorf("bench: migrate: %w", err)
	}
	pool, err := d.openPool(ctx)
	if err != nil {
		return nil, err
	}
	secrets, err := d.clientSecretKeys()
	if err != nil {
		return nil, err
	}
	name := "bench-" + uuid.NewString()[:8]
	key, err := auth.AddSealed(ctx, pool, auth.Client{Name: name, Role: httpapi.RoleAdmin, Auth: httpapi.MethodBearer,
		RateLimit: 1e9}, secrets)
	if err != nil {
		return nil, fmt.Errorf("bench: add client: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	args := append([]string{"--listen=" + addr}, common...)
	if !hasFlag(common, "log-level") {
		args = append(args, "--log-level=warn")
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runServe(sctx, quiet, args) }()
	stop := func() {
		cancel()
		<-done
		_ = auth.Revoke(context.WithoutCancel(ctx), pool, name)
	}
	url := "http://" + addr
	// Up (/healthz), and with projections running also caught up
	// (/readyz), so that the load does not start behind a backlog; without
	// projections /readyz would wait for ever for a backlog nobody applies.
	ready := []string{"/healthz"}
	if d.cfg.Projections {
		ready = append(ready, "/readyz")
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, path := range ready {
		for {
			resp, err := http.Get(url + path)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			select {
			case err := <-done:
				cancel()
				return nil, fmt.Errorf("bench: the server stopped: %w", errors.Join(err, errors.New("before it was ready")))
			case <-time.After(100 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				stop()
				return nil, fmt.Errorf("bench: the server did not answer GET %s with 200 within 60 s", path)
			}
		}
	}
	return &benchServer{url: url, key: key, stop: stop}, nil
}

func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, "--"+name+"=") {
			return true
		}
	}
	return false
}

// redactURL drops a password from a database URL for printing.
func redactURL(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 {
		return u
	}
	userinfo := u[scheme+3 : at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return u[:scheme+3] + userinfo[:i] + ":***" + u[at:]
	}
	return u
}
