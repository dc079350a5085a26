package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/cardledger/cardledger/batch"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/fees"
	"github.com/cardledger/cardledger/fees/possim"
	"github.com/cardledger/cardledger/internal/config"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// feeModule is the replacement fee's routes (docs/fees.md): the POS port
// when CARDLEDGER_POS_URL is set, the report over the batch read model.
func feeModule(ctx context.Context, d *deps, cmds *commands.Service, batches *batch.Service) ([]httpapi.Route, error) {
	if err := fees.Migrate(ctx, d.pool); err != nil {
		return nil, err
	}
	var pos fees.NoticeSender
	if u := d.cfg.Fees.POSURL; u != "" {
		pos = fees.HTTPPOS{URL: u, Client: &http.Client{Timeout: d.cfg.Fees.POSTimeout}}
	}
	rm := batches.ReadModel()
	return fees.NewAPI(cmds, d.pool, rm, pos, func(ctx context.Context) error { return rm.CatchUp(ctx, d.store) }).Routes(), nil
}

const simulatePOSUsage = "cardledger simulate pos --ledger URL (--api-key KEY | --client NAME --secret-file F) [--listen ADDR] " +
	"[--garbage-rate 0..1] [--stall D] [--duplicate] [--terminal T] [--seed N]"

// runSimulatePOS serves the non-tax POS simulator until ctx ends.
func runSimulatePOS(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("simulate pos", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	listen := fs.String("listen", "127.0.0.1:8091", "address the simulator takes notices on")
	ledger := fs.String("ledger", config.DefaultServerURL, "base URL of cardledger")
	key := fs.String("api-key", env.getenv("CARDLEDGER_API_KEY"), "bearer key of a pos client")
	client := fs.String("client", "", "pos client name, to sign reports instead of a bearer key")
	secretFile := fs.String("secret-file", "", "file holding that client's secret")
	garbage := fs.Float64("garbage-rate", 0, "share of notices answered with garbage (0..1)")
	stall := fs.Duration("stall", 0, "with --garbage-rate, stall this long first (a timeout)")
	dup := fs.Bool("duplicate", false, "report every payment twice")
	terminal := fs.String("terminal", "sim-pos-01", "terminal id in the reports")
	seed := fs.Uint64("seed", 1, "seed of the misbehaviour")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 || *garbage < 0 || *garbage > 1 || (*key == "") == (*client == "") || (*client != "") != (*secretFile != "") {
		return batchUsagef("%s", simulatePOSUsage)
	}
	var secret []byte
	if *secretFile != "" {
		b, err := os.ReadFile(*secretFile)
		if err != nil {
			return err
		}
		secret = []byte(strings.TrimSpace(string(b)))
	}
	sim := possim.New(possim.Options{LedgerURL: *ledger, APIKey: *key, Client: *client, Secret: secret, Terminal: *terminal,
		GarbageRate: *garbage, Stall: *stall, Duplicate: *dup, Seed: *seed})
	srv := &http.Server{Addr: *listen, Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.WithoutCancel(ctx))
	}()
	fmt.Fprintf(env.stderr, "non-tax POS simulator on http://%s, reporting to %s\n", *listen, *ledger)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	for _, err := range sim.Wait() {
		fmt.Fprintln(env.stderr, err)
	}
	return nil
}
