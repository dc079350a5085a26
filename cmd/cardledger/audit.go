package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/cardledger/cardledger/audit"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/chain"
	"github.com/cardledger/cardledger/internal/config"
)

// auditPublicKeyEnv holds the public key digests are checked with when
// neither --public-key nor the signing key is given.
const auditPublicKeyEnv = "CARDLEDGER_AUDIT_PUBLIC_KEY"

// errHistoryBroken makes `audit verify` exit 1 after it listed the breaks.
var errHistoryBroken = errors.New("history does not verify")

// runAudit: `cardledger audit verify [--stream S | --all]`,
// `cardledger audit verify --digest FILE|ID [--public-key KEY]` and
// `cardledger audit digest [--out FILE]`.
func runAudit(ctx context.Context, env *environment, args []string) error {
	v, rest := verb(args)
	fs := flag.NewFlagSet("audit "+v, flag.ContinueOnError)
	switch v {
	case "verify":
		stream := fs.String("stream", "", "verify one stream")
		all := fs.Bool("all", false, "verify every stream (the default)")
		digest := fs.String("digest", "", "verify a signed digest: a file written by `audit digest --out` or a stored digest id")
		pub := fs.String("public-key", "", "trusted Ed25519 public key for --digest, hex or base64 (default: "+
			auditPublicKeyEnv+", else derived from "+audit.SigningKeyEnv+")")
		d, err := parseConfig(env, fs, rest)
		if err != nil {
			return err
		}
		defer d.close()
		if *stream != "" && *all {
			return usagef("--stream and --all exclude each other")
		}
		if *digest != "" && (*stream != "" || *all) {
			return usagef("--digest checks the streams the digest lists; drop --stream/--all")
		}
		// The chain hashes the data as stored (personal data sealed).
		store, err := d.openEventLog(ctx)
		if err != nil {
			return err
		}
		if *digest != "" {
			return verifyDigest(ctx, env, d, store, *digest, *pub)
		}
		r, err := audit.Verify(ctx, store, audit.VerifyOptions{Stream: *stream, Progress: progressPrinter(env)})
		if err != nil {
			return err
		}
		return reportBreaks(env, r.Events, r.Streams, r.Breaks)
	case "digest":
		out := fs.String("out", "", "also write the digest (with every head) to this file")
		d, err := parseConfig(env, fs, rest)
		if err != nil {
			return err
		}
		defer d.close()
		raw := d.cfg.AuditSigningKey
		if raw == "" {
			return audit.ErrNoSigningKey
		}
		key, err := audit.ParseSigningKey(raw)
		if err != nil {
			return err
		}
		store, err := d.openStore(ctx)
		if err != nil {
			return err
		}
		pool, err := d.openPool(ctx)
		if err != nil {
			return err
		}
		if err := audit.Migrate(ctx, pool); err != nil {
			return err
		}
		// Bring the heads up to date; harmless next to a running projection
		// (Apply skips what is already stored).
		if err := audit.CatchUp(ctx, store, audit.NewProjection(pool)); err != nil {
			return err
		}
		dg, err := audit.NewDigester(pool, store, key).Create(ctx)
		if err != nil {
			return err
		}
		if *out != "" {
			if err := writeJSONFile(*out, dg); err != nil {
				return err
			}
		}
		fmt.Fprintf(env.stdout, "digest %d: %d streams up to position %s, root %s, public key %s\n",
			dg.ID, len(dg.Heads), dg.Position, dg.Root, dg.PublicKey)
		return nil
	default:
		return usagef("audit: want verify or digest")
	}
}

func verifyDigest(ctx context.Context, env *environment, d *deps, store eventstore.Store, which, pub string) error {
	trusted, err := trustedKey(d.cfg, pub)
	if err != nil {
		return err
	}
	var dg *audit.Digest
	if id, err := strconv.ParseInt(which, 10, 64); err == nil {
		pool, err := d.openPool(ctx)
		if err != nil {
			return err
		}
		if dg, err = audit.LoadDigest(ctx, pool, id); err != nil {
			return err
		}
	} else {
		b, err := os.ReadFile(which)
		if err != nil {
			return fmt.Errorf("read digest: %w", err)
		}
		dg = &audit.Digest{}
		if err := json.Unmarshal(b, dg); err != nil {
			return fmt.Errorf("read digest %s: %w", which, err)
		}
	}
	r, err := audit.VerifyDigest(ctx, store, dg, trusted, progressPrinter(env))
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "digest %d of %s (position %s): signature good\n", dg.ID, dg.CreatedAt.Format(time.RFC3339), dg.Position)
	return reportBreaks(env, r.Events, r.Streams, r.Breaks)
}

func trustedKey(cfg config.Config, flagValue string) (ed25519.PublicKey, error) {
	if flagValue != "" {
		return audit.ParsePublicKey(flagValue)
	}
	if v := cfg.AuditPublicKey; v != "" {
		return audit.ParsePublicKey(v)
	}
	if v := cfg.AuditSigningKey; v != "" {
		key, err := audit.ParseSigningKey(v)
		if err != nil {
			return nil, err
		}
		return key.Public().(ed25519.PublicKey), nil
	}
	return nil, usagef("--digest needs the trusted key: --public-key, %s or %s", auditPublicKeyEnv, audit.SigningKeyEnv)
}

func reportBreaks(env *environment, events uint64, streams int, breaks []*chain.BreakError) error {
	for _, b := range breaks {
		fmt.Fprintln(env.stdout, "BROKEN", b)
	}
	fmt.Fprintf(env.stdout, "%d events in %d streams checked, %d broken streams\n", events, streams, len(breaks))
	if len(breaks) > 0 {
		return errHistoryBroken
	}
	return nil
}

// progressPrinter reports progress on stderr: one updating line on a
// terminal, a line every ten seconds otherwise.
func progressPrinter(env *environment) func(audit.Progress) {
	var last time.Time
	return func(p audit.Progress) {
		every := 10 * time.Second
		if env.isTerminal {
			every = 200 * time.Millisecond
		}
		if time.Since(last) < every {
			return
		}
		last = time.Now()
		line := fmt.Sprintf("verified %d events in %d streams, %d broken, %s", p.Events, p.Streams, p.Broken, p.Elapsed.Round(time.Second))
		if env.isTerminal {
			fmt.Fprintf(env.stderr, "\r%s ", line)
		} else {
			fmt.Fprintln(env.stderr, line)
		}
	}
}

func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
