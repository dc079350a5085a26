package main

import (
	"context"
	"errors"
	"flag"
	"time"

	"github.com/cardledger/cardledger/batch"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
)

// The batch-production commands are thin: flags of their own are parsed by
// package batch; the common flags come first, e.g.
// `cardledger import --log-format text applications FILE`.

func runImport(ctx context.Context, env *environment, args []string) error {
	return withBatch(ctx, env, "import", args, func(s batch.Deps, rest []string) error {
		if v, r := verb(rest); v == "applications" {
			return batch.ImportApplicationsCLI(ctx, s, r, env.stdout, env.stderr)
		}
		return usagef("want `import applications FILE`")
	})
}

func runBatch(ctx context.Context, env *environment, args []string) error {
	return withBatch(ctx, env, "batch", args, func(s batch.Deps, rest []string) error {
		return batch.BatchCLI(ctx, s, rest, env.stdout, env.stderr)
	})
}

func runPSAM(ctx context.Context, env *environment, args []string) error {
	return withBatch(ctx, env, "psam", args, func(s batch.Deps, rest []string) error {
		return batch.PSAMCLI(ctx, s, rest, env.stdout, env.stderr)
	})
}

// runSimulate needs no database: it turns an export file into a return file.
func runSimulate(ctx context.Context, env *environment, args []string) error {
	return batchUsage(batch.SimulateCLI(ctx, args, env.stdout, env.stderr))
}

func withBatch(ctx context.Context, env *environment, name string, args []string, run func(batch.Deps, []string) error) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	d, err := parseConfig(env, fs, args)
	if err != nil {
		return err
	}
	defer d.close()
	store, err := d.openStore(ctx)
	if err != nil {
		return err
	}
	pool, err := d.openPool(ctx)
	if err != nil {
		return err
	}
	svc, err := commands.NewService(store, d.cfg.IDKey, time.Now)
	if err != nil {
		return err
	}
	deps := batch.Deps{Store: store, Pool: pool, Commands: svc, IDKey: d.cfg.IDKey, Clock: time.Now,
		Actor: domain.Actor{Client: "cli", Operator: env.getenv("USER")}}
	return batchUsage(run(deps, fs.Args()))
}

func batchUsage(err error) error {
	if errors.Is(err, batch.ErrUsage) {
		return usageError{err.Error()}
	}
	return err
}
