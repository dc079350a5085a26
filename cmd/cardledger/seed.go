package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/devtools/seed"
)

// runSeed fills the system with a demo city through the real command
// handlers and the usage ingester.
func runSeed(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	people := fs.Int("people", 1000, "people to register")
	months := fs.Int("months", 6, "months of history ending today")
	ifEmpty := fs.Bool("if-empty", false, "do nothing when the event store already holds events")
	randSeed := fs.Uint64("seed", 1, "the same seed gives the same city")
	lifecycles := fs.Bool("lifecycles", false, "instead of a city, append --people synthetic card lifecycles (about 10 events each) "+
		"through the write pipeline without the command handlers (Pipeline.CreateMany), 500 people per transaction, 8 at a time: "+
		"the fast way to grow a store for scale runs (no usage records; test data only)")
	first := fs.Int("first", 0, "with --lifecycles: the index of the first synthetic person; a value above 0 adds people "+
		"to a store that already holds some (seeded with lower indexes), to grow one store in steps")
	d, err := parseConfig(env, fs, args)
	if err != nil {
		return err
	}
	defer d.close()
	store, err := d.openStore(ctx)
	if err != nil {
		return err
	}
	if *first < 0 || *first > 0 && !*lifecycles {
		return usagef("--first needs --lifecycles and is at least 0")
	}
	// The seeder registers its city from scratch; on a seeded store it
	// would collide with what is there, so it refuses up front. Lifecycles
	// from --first on are new people: each stream is appended expecting
	// none, so an index given twice fails instead of doubling a person.
	if _, ok, err := store.Head(ctx); err != nil {
		return err
	} else if ok && *first == 0 {
		if *ifEmpty {
			d.log.Info("seed: the event store already holds events; nothing to do (--if-empty)")
			return nil
		}
		return errors.New("the event store already holds events; seed fills only an empty system (add --if-empty to skip a seeded one, or seed a fresh database)")
	}
	if *lifecycles {
		return seedLifecycles(ctx, env, d, store, *first, *people)
	}
	clock := &seed.Clock{}
	svc, err := commands.NewService(store, d.cfg.IDKey, clock.Now)
	if err != nil {
		return err
	}
	ingester := analytics.NewIngester(store, analytics.CardNumbersDirectory{Numbers: svc.CardNumbers}, time.Now)
	started := time.Now()
	sum, err := seed.Run(ctx, seed.Deps{Service: svc, Clock: clock, Usage: ingester, HomeCity: d.cfg.CityCode, RandSeed: *randSeed},
		*people, *months, seedProgress(env, d.log))
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "seeded in %s: %d people, %d cards (%d replacements), %d e-cards, %d losses, %d cancellations, %d usage records (%d outside the home city)\n",
		time.Since(started).Round(time.Second), sum.People, sum.Cards, sum.Replacements, sum.ECards, sum.Losses, sum.Cancellations, sum.UsageRecords, sum.RemoteUses)
	return nil
}

// seedLifecycles appends people lifecycles in one History call: several
// workers, each appending many people per transaction when the store can
// (eventstore.MultiAppender), with a bar on a terminal and log lines
// otherwise.
func seedLifecycles(ctx context.Context, env *environment, d *deps, store eventstore.Store, first, people int) error {
	// Measured at 10,000 people on the loaded development machine
	// (docs/scale.md): more workers only add lock and CPU contention on two
	// cores; bigger batches stop paying once a commit is a small part of one.
	const workers, batch = 8, 500
	started := time.Now()
	res, err := seed.History(ctx, store, people, seed.HistoryOptions{First: first, Concurrency: workers, Batch: batch, Progress: seedProgress(env, d.log)})
	if err != nil {
		return fmt.Errorf("seed --lifecycles: after %d events: %w", res.Events, err)
	}
	took := time.Since(started)
	fmt.Fprintf(env.stdout, "seeded in %s: %d people's card lifecycles, %d events (%.0f events/s)\n", took.Round(time.Second), people, res.Events,
		float64(res.Events)/took.Seconds())
	return nil
}
