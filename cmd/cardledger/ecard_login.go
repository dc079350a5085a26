package main

import (
	"context"
	"time"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/ecard"
)

// ecardLoginModule builds scan-to-login on the code service's keys (the
// assertions are signed like the codes) and the holder side's channel
// check. The assertion subject is keyed with the ID key, which never
// changes, so a holder keeps one pseudonym.
func (a *app) ecardLoginModule(ctx context.Context, svc *commands.Service, codes *ecard.Service) (*ecard.LoginService, error) {
	d := a.d
	if err := ecard.MigrateLogin(ctx, d.pool); err != nil {
		return nil, err
	}
	clock := a.ecardClock
	if clock == nil {
		clock = time.Now
	}
	rate := d.cfg.ECardLoginRate
	if rate == 0 {
		rate = ecard.LoginRateOff
	}
	return ecard.NewLoginService(ecard.LoginDeps{Pool: d.pool, Keys: codes.Keys(), Channels: svc, SubjectKey: d.cfg.IDKey,
		Clock: clock, TTL: d.cfg.ECardLoginTTL, RatePerMin: rate})
}
