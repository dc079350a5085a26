package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/cardledger/cardledger/notifications"
)

// runSimulateSMS plays the SMS gateway over real HTTP until interrupted:
// point CARDLEDGER_SMS_GATEWAY_URL at the URL it prints.
func runSimulateSMS(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("simulate sms", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	listen := fs.String("listen", "127.0.0.1:9099", "address to listen on")
	failFirst := fs.Int("fail-first", 0, "answer the first N messages 503 (a gateway that is down for a while)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 || *failFirst < 0 {
		return fmt.Errorf("usage: cardledger simulate sms [--listen 127.0.0.1:9099] [--fail-first N]")
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("simulate sms: listen on %s: %w", *listen, err)
	}
	sim := &notifications.SMSSimulator{FailFirst: *failFirst, Log: env.stdout}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(env.stderr, "SMS gateway simulator: CARDLEDGER_SMS_GATEWAY_URL=http://%s/messages (GET lists what it kept)\n", l.Addr())
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
