package main

import (
	"context"
	"flag"
	"fmt"
	"slices"

	"github.com/cardledger/cardledger/projections"
	"github.com/cardledger/cardledger/readapi/blacklistsync"
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
	type named struct {
		name   string
		runner *projections.Runner
	}
	var all []named
	for _, r := range a.runners() {
		for _, n := range r.Names() {
			all = append(all, named{n, r})
		}
	}
	if v == "list" {
		for _, p := range all {
			fmt.Fprintln(env.stdout, p.name)
		}
		return nil
	}
	want := fs.Args()
	if len(want) > 1 {
		return usagef("rebuild takes at most one projection name")
	}
	if len(want) == 1 && !slices.ContainsFunc(all, func(p named) bool { return p.name == want[0] }) {
		return usagef("unknown projection %q (see `cardledger projections list`)", want[0])
	}
	for _, p := range all {
		if len(want) == 1 && p.name != want[0] {
			continue
		}
		stats, err := p.runner.Rebuild(ctx, p.name)
		if err != nil {
			return fmt.Errorf("rebuild %s: %w", p.name, err)
		}
		fmt.Fprintf(env.stdout, "%s: rebuilt from %d events in %s (%.0f events/s)\n",
			p.name, stats.Events, stats.Duration.Round(1e6), stats.EventsPerSecond())
	}
	return nil
}

// runBlacklist: the offline blacklist copy (`blacklist sync|check`), which
// works against a remote server and needs no database of its own.
func runBlacklist(ctx context.Context, env *environment, args []string) error {
	log, err := newLogger(mustConfigForLogs(env), env.stderr)
	if err != nil {
		return err
	}
	if code := blacklistsync.Main(ctx, args, env.stdout, env.stderr, log); code != 0 {
		return exitCode(code)
	}
	return nil
}
