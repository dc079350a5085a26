package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/cardledger/cardledger/eventstore/piistore"
)

// runKeys: `cardledger keys generate | status | rotate --new-master-key K |
// --new-master-key-file F`. The rotation procedure is in the piistore
// package doc and the README.
func runKeys(ctx context.Context, env *environment, args []string) error {
	v, rest := verb(args)
	fs := flag.NewFlagSet("keys "+v, flag.ContinueOnError)
	switch v {
	case "generate":
		if err := fs.Parse(rest); err != nil {
			return err
		}
		key, text, err := piistore.GenerateMasterKey()
		if err != nil {
			return err
		}
		fmt.Fprintln(env.stdout, text)
		fmt.Fprintf(env.stderr, "new master key %s: keep it secret; give it as CARDLEDGER_MASTER_KEY (or in CARDLEDGER_MASTER_KEY_FILE)\n", key.ID())
		return nil
	case "status":
		d, err := parseConfig(env, fs, rest)
		if err != nil {
			return err
		}
		defer d.close()
		return printKeyStatus(ctx, env, d)
	case "rotate":
		newKey := fs.String("new-master-key", "", "the master key to re-wrap every data key under (hex or base64)")
		newKeyFile := fs.String("new-master-key-file", "", "file holding the new master key")
		d, err := parseConfig(env, fs, rest)
		if err != nil {
			return err
		}
		defer d.close()
		raw := *newKey
		switch {
		case raw != "" && *newKeyFile != "":
			return usagef("give --new-master-key or --new-master-key-file, not both")
		case *newKeyFile != "":
			b, err := os.ReadFile(*newKeyFile)
			if err != nil {
				return fmt.Errorf("--new-master-key-file: %w", err)
			}
			raw = string(b)
		case raw == "":
			return usagef("keys rotate needs --new-master-key or --new-master-key-file")
		}
		to, err := piistore.ParseMasterKey(raw)
		if err != nil {
			return fmt.Errorf("new master key: %w", err)
		}
		keys, err := d.openKeyring(ctx)
		if err != nil {
			return err
		}
		n, err := keys.Rotate(ctx, to, func(done int) {
			d.log.WithField("rewrapped", done).Info("rotating data keys")
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stderr, "re-wrapped %d data keys under master key %s\n", n, to.ID())
		return printKeyStatus(ctx, env, d)
	default:
		return usagef("keys: want generate, status or rotate")
	}
}

// printKeyStatus shows the live data keys per master key: an old master
// key with no keys left may be dropped from CARDLEDGER_MASTER_KEY_OLD.
func printKeyStatus(ctx context.Context, env *environment, d *deps) error {
	keys, err := d.openKeyring(ctx)
	if err != nil {
		return err
	}
	st, err := keys.Status(ctx)
	if err != nil {
		return err
	}
	out := struct {
		CurrentMasterKey string `json:"current_master_key"`
		piistore.KeyStatus
	}{keys.CurrentMasterKeyID(), st}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(env.stdout, string(b))
	return err
}
