package main

import (
	"context"
	"net/http"

	"github.com/cardledger/cardledger/batch"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/fees"
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
