package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/identity"
	"github.com/cardledger/cardledger/photos"
)

// identityAndPhotos gives the command API the photo store (under the
// person's data keys) and, when CARDLEDGER_POLICE_URL is set, the police
// identity check.
func (a *app) identityAndPhotos(ctx context.Context, cmds *commands.API) error {
	d := a.d
	store, err := d.photoStore(ctx)
	if err != nil {
		return err
	}
	cmds.WithPhotos(store)
	if d.cfg.PoliceURL == "" {
		d.log.Info("CARDLEDGER_POLICE_URL not set: registrations and counter applications are not checked with the police")
		return nil
	}
	client, err := identity.NewClient(d.cfg.PoliceURL, d.cfg.PoliceTimeout)
	if err != nil {
		return fmt.Errorf("CARDLEDGER_POLICE_URL / --police-url: %w", err)
	}
	cmds.WithIdentity(client)
	return nil
}

// photoStore keeps holders' photos under their data keys (the keyring of
// the sealed event store).
func (d *deps) photoStore(ctx context.Context) (*photos.Store, error) {
	keys, err := d.openKeyring(ctx)
	if err != nil {
		return nil, err
	}
	return photos.NewStore(keys, photos.CardSpec), nil
}

// runSimulatePolice serves the police identity source's side of the
// protocol (package identity) over a population file, until interrupted:
//
//	cardledger simulate police --people FILE [--listen 127.0.0.1:8091] [--fault unavailable|garbage|slow]
func runSimulatePolice(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("simulate police", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8091", "address to serve on")
	people := fs.String("people", "", "population file: CSV id_number,name (UTF-8); photos are synthetic")
	fault := fs.String("fault", "", "play a failure: unavailable (503), garbage (200 with junk), slow (never in time)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	known := *fault == ""
	for _, f := range identity.Faults {
		known = known || identity.Fault(*fault) == f
	}
	if len(pos) != 0 || *people == "" || !known {
		return batchUsagef("cardledger simulate police --people FILE [--listen 127.0.0.1:8091] [--fault unavailable|garbage|slow]")
	}
	f, err := os.Open(*people)
	if err != nil {
		return err
	}
	list, err := identity.ReadPeople(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", *people, err)
	}
	sim := identity.NewSimulator(list...)
	sim.SetFault(identity.Fault(*fault))
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(env.stderr, "police simulator: %d people, serving http://%s (set CARDLEDGER_POLICE_URL to it)\n", len(list), ln.Addr())
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		return err
	}
	return ctx.Err()
}
