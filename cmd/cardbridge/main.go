// Command cardbridge is the service-counter agent: it watches one PC/SC
// card reader, reads every social-security card put in it (package
// hwbridge), checks the card against cardledger and tells the counter
// application the answer.
//
// For each card it checks the card's status (GET /v1/cards/{card_no}, with
// a counter key) and its blacklist entry (GET /v1/blacklist/{card_no}) on
// the server, within --server-timeout. When the server cannot answer
// (network error, timeout, 5xx, 429, refused key) it checks the offline
// copy kept by `cardledger blacklist sync --dir DIR`. It prints one JSON
// line per event on stdout and serves the latest result on a local HTTP
// endpoint. It may report an identity_auth usage record per card the server
// accepted (not for offline answers: the server is down then).
//
// Invariants:
//   - A card is accepted only on an answer: the server said its status is
//     active or issued and it is not blacklisted, or (server unreachable)
//     an offline copy younger than --offline-max-age does not list it.
//     Without either the decision is "unknown", never "accepted". A listed
//     card is refused by either source; so is an expired card.
//   - Every decision names its source: "server", "offline" or "none".
//   - stdout never holds a holder's full name or ID number: card_read lines
//     carry them masked ("张*", "110***********2311"). /latest carries them
//     in full for the counter application (--latest-holder full, the
//     default), which is why the endpoint must listen on a loopback address
//     in that mode; --latest-holder masked serves them masked.
//   - Every card read and server call has a deadline (a hung card blocks
//     PC/SC otherwise); the agent keeps running through the reader or pcscd
//     going away (it waits for the reader to come back by name), cards
//     pulled mid-read and server outages. Only a cancelled context (SIGINT,
//     SIGTERM) stops it.
//   - A usage report never delays or changes a decision; its failure is
//     logged (kind usage_report).
//
// E-card codes posted to POST /verify-code on the local endpoint are
// verified on the server with --terminal-key (POST /v1/ecard/verify) and,
// when it does not answer, from the keys and blacklist copies in
// --blacklist-dir (ecard.CodeChecker); an offline answer says reuse was
// not checked.
//
// Events (field "event"): agent_started, reader_waiting (waiting_for:
// reader|card), card_inserted, card_read, decision, card_removed,
// usage_reported, code_decision, error (kind: no_reader, card_removed_mid_read,
// not_social_security_card, timeout, usage_report, ...).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cardledger/cardledger/hwbridge"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cardbridge:", err)
		os.Exit(2)
	}
	if cfg.ListReaders {
		names, err := hwbridge.ListReaders(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, "cardbridge:", err)
			os.Exit(1)
		}
		for _, n := range names {
			fmt.Println(n)
		}
		return
	}
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "cardbridge:", err)
		os.Exit(1)
	}
}

// run runs the agent until ctx ends. It fails only if the local endpoint
// cannot listen.
func run(ctx context.Context, cfg Config, stdout io.Writer) error {
	now := time.Now
	log := newEventLog(stdout, now)
	a := &agent{cfg: cfg, log: log, state: newState(cfg.Reader, now), check: newChecker(cfg, now), codes: newCodeChecker(cfg, now), now: now}
	if cfg.ReportUsage {
		a.usage = newUsageReporter(cfg, log)
	}
	listen := ""
	var srv *http.Server
	if cfg.Listen != "off" {
		l, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return fmt.Errorf("listen for the counter application: %w", err)
		}
		listen = l.Addr().String()
		mux := http.NewServeMux()
		mux.Handle("/", a.state.handler())
		mux.HandleFunc("POST /verify-code", a.verifyCode)
		srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(l)
	}
	log.emit(Event{Event: evStarted, Reader: cfg.Reader, Listen: listen})
	a.watch(ctx)
	a.bg.Wait() // usage reports are bounded by --usage-timeout
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			srv.Close() // long polls still open
		}
	}
	return nil
}
