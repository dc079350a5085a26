package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"time"

	"github.com/cardledger/cardledger/projections"
)

// runProjections: `projections rebuild [NAME]` rebuilds one projection, or
// all of them, from position zero into fresh tables and swaps them in;
// `projections list` names them.
func runProjections(ctx context.Context, env *environment, args []string) error {
	v, rest := verb(args)
	if v != "rebuild" && v != "list" {
		return usagef("want `projections rebuild [NAME]` or `projections list`")
	}
	fs := flag.NewFlagSet("projections "+v, flag.ContinueOnError)
	d, err := parseConfig(env, fs, rest)
	if err != nil {
		return err
	}
	a, err := buildApp(ctx, d)
	if err != nil {
		return err
	}
	defer a.close()
	names := a.runner.Names()
	if v == "list" {
		for _, n := range names {
			fmt.Fprintln(env.stdout, n)
		}
		return nil
	}
	want := fs.Args()
	if len(want) > 1 {
		return usagef("rebuild takes at most one projection name")
	}
	if len(want) == 1 && !slices.Contains(names, want[0]) {
		return usagef("unknown projection %q (see `cardledger projections list`)", want[0])
	}
	for _, name := range names {
		if len(want) == 1 && name != want[0] {
			continue
		}
		stats, err := a.runner.Rebuild(ctx, name)
		if errors.Is(err, projections.ErrNotRebuildable) && len(want) == 0 {
			// Rebuilding everything means every projection that can be; the
			// others (audit trail, ClickHouse) are idempotent over the log.
			fmt.Fprintf(env.stdout, "%s: skipped (%v)\n", name, projections.ErrNotRebuildable)
			continue
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "%s: rebuilt from %d events in %s (%.0f events/s)\n",
			name, stats.Events, stats.Duration.Round(time.Millisecond), stats.EventsPerSecond())
	}
	return nil
}
