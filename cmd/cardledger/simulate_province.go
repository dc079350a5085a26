package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/cardledger/cardledger/province"
)

// simulateProvinceUsage is the province simulator's command line.
const simulateProvinceUsage = "cardledger simulate province [--listen 127.0.0.1:8095] [--data FILE] [--token T] [--fault garbage|hang|error]"

// runSimulateProvince serves the province's side of docs/province.md until
// interrupted: the other cities' cards, transfers and cancellations of
// records, and this city's uploads.
func runSimulateProvince(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("simulate province", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8095", "address to serve on")
	data := fs.String("data", "", "JSON file keeping the records across restarts (default: memory only)")
	token := fs.String("token", "", "bearer token callers must send (CARDLEDGER_PROVINCE_TOKEN on the ledger's side)")
	fault := fs.String("fault", "", "answer every call with garbage, hang or error (drills)")
	pos, err := parseInterleaved(fs, args)
	if err != nil || len(pos) != 0 {
		return batchUsagef(simulateProvinceUsage)
	}
	sim, err := province.NewSimulator(province.SimulatorOptions{Token: *token, DataFile: *data, Fault: province.Fault(*fault)})
	if err != nil {
		return usageError{err.Error()}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(env.stderr, "province simulator on http://%s (set CARDLEDGER_PROVINCE_URL to it)\n", ln.Addr())
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
