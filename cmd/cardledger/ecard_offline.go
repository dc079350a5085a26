package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"time"

	"github.com/cardledger/cardledger/ecard"
)

// Exit statuses of `ecard verify`, for scripts at a terminal.
const (
	exitCodeAccepted = 0
	exitCodeUnknown  = 2 // nothing could vouch for the code (also a broken command line)
	exitCodeRefused  = 3
)

// defaultOfflineMaxAge matches cardbridge's --offline-max-age default.
const defaultOfflineMaxAge = 7 * 24 * time.Hour

// runECardVerify: `ecard verify [--dir DIR] [--offline] [--max-age D]
// [--timeout D] [--json] CODE`. Online first (POST /v1/ecard/verify as
// the terminal whose key is CARDLEDGER_API_KEY), offline from DIR (the
// keys fetched by `ecard keys fetch` and the blacklist copy of `blacklist
// sync`) when the server does not answer or no key is given.
func runECardVerify(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("ecard verify", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory of the offline copies: "+ecard.KeysFileName+" (ecard keys fetch) and the blacklist copy (blacklist sync)")
	offline := fs.Bool("offline", false, "do not ask the server")
	maxAge := fs.Duration("max-age", defaultOfflineMaxAge, "offline keys or blacklist copy older than this cannot accept a code (0: any age)")
	timeout := fs.Duration("timeout", 2*time.Second, "deadline of the server's answer")
	asJSON := fs.Bool("json", false, "print the answer as one JSON object")
	d, err := parseConfig(env, fs, args)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("usage: ecard verify [--dir DIR] [--offline] [--max-age D] [--json] CODE")
	}
	if *maxAge < 0 || *timeout <= 0 {
		return usagef("--max-age must not be negative and --timeout must be positive")
	}
	c := &ecard.CodeChecker{Dir: *dir, MaxAge: *maxAge, Client: &http.Client{Timeout: *timeout}}
	if !*offline && d.cfg.APIKey != "" {
		c.Server, c.Key = d.cfg.ServerURL, d.cfg.APIKey
	}
	if c.Server == "" && c.Dir == "" {
		return usagef("ecard verify: give --dir, or a terminal key (CARDLEDGER_API_KEY) for the server")
	}
	out := c.Check(ctx, fs.Arg(0))
	if *asJSON {
		b, err := json.Marshal(out)
		if err != nil {
			return err
		}
		fmt.Fprintln(env.stdout, string(b))
	} else {
		for _, l := range out.Lines() {
			fmt.Fprintln(env.stdout, l)
		}
	}
	switch out.Decision {
	case ecard.CheckAccepted:
		return nil
	case ecard.CheckRefused:
		return exitCode(exitCodeRefused)
	}
	return exitCode(exitCodeUnknown)
}

// runECardKeysFetch: `ecard keys fetch --dir DIR [--every D]`: GET
// /v1/ecard/keys (public) from CARDLEDGER_SERVER_URL into DIR/ecard-keys.json,
// next to the blacklist copy; with --every, again every D until interrupted
// (a failed fetch keeps the previous file and is retried at the next tick).
func runECardKeysFetch(ctx context.Context, env *environment, fs *flag.FlagSet, args []string) error {
	dir := fs.String("dir", "", "directory of the offline copies (required; the blacklist copy's)")
	every := fs.Duration("every", 0, "fetch again at this interval until interrupted (0: once); keep it well under the key overlap (1h by default)")
	d, err := parseConfig(env, fs, args)
	if err != nil {
		return err
	}
	if *dir == "" || fs.NArg() != 0 || *every < 0 {
		return usagef("usage: ecard keys fetch --dir DIR [--every D]")
	}
	client := &http.Client{Timeout: 10 * time.Second}
	fetch := func() error {
		f, err := ecard.FetchKeys(ctx, client, d.cfg.ServerURL, time.Now())
		if err != nil {
			return err
		}
		if err := f.Save(*dir); err != nil {
			return fmt.Errorf("ecard keys fetch: %w", err)
		}
		fmt.Fprintf(env.stdout, "fetched %d keys from %s at %s\n", len(f.Keys), f.Server, f.FetchedAt.Format(time.RFC3339))
		return nil
	}
	if *every == 0 {
		return fetch()
	}
	t := time.NewTicker(*every)
	defer t.Stop()
	for {
		if err := fetch(); err != nil {
			fmt.Fprintf(env.stderr, "ecard keys fetch: %v (keeping the previous keys; next try in %s)\n", err, *every)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
