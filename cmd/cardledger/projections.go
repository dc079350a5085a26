package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/cardledger/cardledger/projections"
)

// runProjections: `projections rebuild [NAME]` rebuilds one projection, or
// all of them, from position zero into fresh tables and swaps them in;
// `projections list` prints each with its checkpoint, lag and whether it
// can be rebuilt.
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
		return listProjections(ctx, env, a.runner)
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
		progress, done := rebuildProgress(env, name)
		stats, err := a.runner.RebuildWith(ctx, name, projections.RebuildOptions{Progress: progress})
		done()
		if errors.Is(err, projections.ErrNotRebuildable) && len(want) == 0 {
			// Rebuilding everything means every projection that can be; the
			// others are idempotent over the log.
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

// listProjections prints one line per projection, its name first:
// checkpoint, lag behind the store's head, and whether `projections
// rebuild` can rebuild it; a projection whose storage cannot be read says
// why instead of its position.
func listProjections(ctx context.Context, env *environment, r *projections.Runner) error {
	reports, err := r.Reports(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCHECKPOINT\tLAG EVENTS\tLAG SECONDS\tREBUILDABLE")
	for _, rep := range reports {
		can, err := r.CanRebuild(rep.Name)
		if err != nil {
			return err
		}
		if rep.Error != "" {
			fmt.Fprintf(tw, "%s\tunavailable: %s\t-\t-\t%s\n", rep.Name, rep.Error, yesNo(can))
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%s\n", rep.Name, rep.Checkpoint, rep.LagEvents, rep.LagSeconds, yesNo(can))
	}
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// rebuildProgress shows a rebuild's progress on stderr: a bar on a
// terminal, a line every ten seconds otherwise (logs, CI). done ends the bar.
func rebuildProgress(env *environment, name string) (progress func(projections.RebuildProgress), done func()) {
	if env.isTerminal {
		bar := progressbar.NewOptions64(-1,
			progressbar.OptionSetDescription("rebuild "+name),
			progressbar.OptionSetWriter(env.stderr),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("events"),
			progressbar.OptionThrottle(200*time.Millisecond),
		)
		var shown uint64
		progress = func(p projections.RebuildProgress) {
			_ = bar.Add64(int64(p.Events - shown))
			shown = p.Events
		}
		done = func() {
			_ = bar.Finish()
			fmt.Fprintln(env.stderr)
		}
		return progress, done
	}
	var last time.Time
	progress = func(p projections.RebuildProgress) {
		if time.Since(last) < 10*time.Second {
			return
		}
		last = time.Now()
		fmt.Fprintf(env.stderr, "rebuild %s: %d events loaded, at position %s, %s\n",
			name, p.Events, p.Position, p.Elapsed.Round(time.Second))
	}
	return progress, func() {}
}
