package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/ecard"
	"github.com/cardledger/cardledger/internal/auth"
)

// ecardSealKeys seal the e-card signing keys at rest: rotating the master
// key reseals them at the next start (ecard.KeyStore.Ensure).
func (d *deps) ecardSealKeys() (*auth.SecretKeys, error) {
	return d.sealKeys("ecard-signing-keys")
}

// ecardKeyStore opens the signing-key table (migrated by the caller).
func (d *deps) ecardKeyStore(clock func() time.Time) (*ecard.KeyStore, error) {
	seal, err := d.ecardSealKeys()
	if err != nil {
		return nil, err
	}
	return ecard.NewKeyStore(d.pool, seal, clock)
}

// ecardModule builds the e-card code service: its tables and first key
// exist before it serves (as migrate makes them), the holders come from
// the event store, usage goes through the ingester.
func (a *app) ecardModule(ctx context.Context, svc *commands.Service, ingester *analytics.Ingester) (*ecard.Service, error) {
	d := a.d
	clock := a.ecardClock
	if clock == nil {
		clock = time.Now
	}
	if err := ecard.Migrate(ctx, d.pool); err != nil {
		return nil, err
	}
	store, err := d.ecardKeyStore(clock)
	if err != nil {
		return nil, err
	}
	if err := store.Ensure(ctx); err != nil {
		return nil, err
	}
	return ecard.NewService(ecard.Deps{
		Keys:       ecard.NewKeyRing(store, ecard.DefaultRefresh),
		Holders:    ecard.CommandHolders{Service: svc},
		Pool:       d.pool,
		Usage:      ecard.IngesterUsage{Ingester: ingester},
		Alerts:     ecard.CommandAlerts{Handler: svc.Cardholder},
		Gate:       ecard.CommandGate{Gate: svc.Channels},
		Access:     ecard.CommandAccess{Service: svc},
		Clock:      clock,
		TTL:        d.cfg.ECardCodeTTL,
		RiskWindow: d.cfg.ECardRiskWindow,
		Log:        d.log,
	})
}

// runECard: `cardledger ecard keys rotate [--overlap D] | ecard keys list`.
func runECard(ctx context.Context, env *environment, args []string) error {
	v, rest := verb(args)
	if v == "verify" {
		return runECardVerify(ctx, env, rest)
	}
	if v != "keys" {
		return usagef("ecard: want `ecard keys rotate [--overlap D]`, `ecard keys list`, `ecard keys fetch --dir DIR` or `ecard verify CODE`")
	}
	v, rest = verb(rest)
	fs := flag.NewFlagSet("ecard keys "+v, flag.ContinueOnError)
	switch v {
	case "fetch":
		return runECardKeysFetch(ctx, env, fs, rest)
	case "rotate":
		overlap := fs.Duration("overlap", ecard.DefaultOverlap, "how long the previous key stays published and accepted (at least the code TTL plus 2m)")
		d, err := parseConfig(env, fs, rest)
		if err != nil {
			return err
		}
		defer d.close()
		store, err := openECardKeys(ctx, d)
		if err != nil {
			return err
		}
		k, err := store.Rotate(ctx, *overlap, d.cfg.ECardCodeTTL)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stderr, "key %s signs new codes from now; the previous key is accepted until %s\n",
			k.ID, k.NotBefore.Add(*overlap).Format(time.RFC3339))
		return printECardKeys(ctx, env, store)
	case "list":
		d, err := parseConfig(env, fs, rest)
		if err != nil {
			return err
		}
		defer d.close()
		store, err := openECardKeys(ctx, d)
		if err != nil {
			return err
		}
		return printECardKeys(ctx, env, store)
	default:
		return usagef("ecard keys: want rotate, list or fetch")
	}
}

func openECardKeys(ctx context.Context, d *deps) (*ecard.KeyStore, error) {
	pool, err := d.openPool(ctx)
	if err != nil {
		return nil, err
	}
	if err := ecard.Migrate(ctx, pool); err != nil {
		return nil, err
	}
	store, err := d.ecardKeyStore(time.Now)
	if err != nil {
		return nil, err
	}
	return store, store.Ensure(ctx)
}

func printECardKeys(ctx context.Context, env *environment, store *ecard.KeyStore) error {
	keys, err := store.Keys(ctx)
	if err != nil {
		return err
	}
	for _, k := range keys {
		until := "signing"
		if k.NotAfter != nil {
			until = "retires " + k.NotAfter.Format(time.RFC3339)
		}
		fmt.Fprintf(env.stdout, "%s\tEd25519\tfrom %s\t%s\n", k.ID, k.NotBefore.Format(time.RFC3339), until)
	}
	return nil
}
