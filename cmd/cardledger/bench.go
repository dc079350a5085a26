package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/cardledger/cardledger/internal/devtools/bench"
	"github.com/cardledger/cardledger/internal/devtools/loadgen"
)

// runBench: load commands whose figures go in the README, each printed
// beside its comparison run from the same database in the same run.
func runBench(ctx context.Context, env *environment, args []string) error {
	v, rest := verb(args)
	fs := flag.NewFlagSet("bench "+v, flag.ContinueOnError)
	n := fs.Int("n", 5000, "operations")
	workers := fs.Int("concurrency", 16, "concurrent workers")
	var h httpBenchFlags
	var profile *string
	switch v {
	case "commands", "store":
		profile = fs.String("cpuprofile", "", "write a CPU profile of this process during the timed runs (not the raw INSERT baseline) to this file")
	case "http":
		h.register(fs)
	default:
		return usagef("want `bench http`, `bench commands` or `bench store` (then -n, -concurrency; see `cardledger bench http -h`)")
	}
	d, err := parseConfig(env, fs, rest)
	if err != nil {
		return err
	}
	defer d.close()
	if v == "http" {
		return runBenchHTTP(ctx, env, d, fs, h, *n, *workers)
	}
	store, err := d.openStore(ctx)
	if err != nil {
		return err
	}
	pool, err := d.openPool(ctx)
	if err != nil {
		return err
	}
	raw, err := loadgen.RawInsert(ctx, pool, *n, *workers)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, raw)
	stopProfile, err := startCPUProfile(*profile)
	if err != nil {
		return err
	}
	defer stopProfile()
	switch v {
	case "store":
		res, err := loadgen.StoreAppend(ctx, store, *n, *workers)
		if err != nil {
			return err
		}
		fmt.Fprintln(env.stdout, res)
		// A command reads its stream before it appends: the second line is
		// the store as commands use it.
		res, err = loadgen.StoreReadAppend(ctx, store, *n, *workers)
		if err != nil {
			return err
		}
		fmt.Fprintln(env.stdout, res)
	case "commands":
		// n loss/unlock pairs on n/2 cardholders: every command is one append.
		res, err := bench.LossUnlock(ctx, store, max(*n/2, 1), *workers)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "%-34s %s\n", "loss/unlock commands", res)
		fmt.Fprintf(env.stdout, "commands/s ÷ raw inserts/s = %.2f\n", res.PerSecond/raw.PerSecond)
	}
	return nil
}
