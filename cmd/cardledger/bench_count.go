package main

import (
	"context"

	"github.com/cardledger/cardledger/internal/devtools/bench"
)

func countCommands(ctx context.Context, env *environment, d *deps, target *bench.HTTP, cards []string, n int) error {
	return nil
}
