package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// runClients: `cardledger clients add --name N --role R [--region CODE] [--bank CODE]`
// prints the new key alone on its last line; `clients list` lists clients.
func runClients(ctx context.Context, env *environment, args []string) error {
	v, rest := verb(args)
	fs := flag.NewFlagSet("clients "+v, flag.ContinueOnError)
	switch v {
	case "add":
		name := fs.String("name", "", "client name (unique)")
		role := fs.String("role", "", "role: admin, counter, bank, auditor, analyst, blacklist-consumer")
		region := fs.String("region", "", "region scope (GB/T 2260 code), optional")
		bank := fs.String("bank", "", "bank scope (bank code), optional")
		d, err := parseConfig(env, fs, rest)
		if err != nil {
			return err
		}
		defer d.close()
		if *name == "" || *role == "" {
			return usagef("--name and --role are required")
		}
		if !httpapi.Role(*role).Valid() {
			return usagef("--role: unknown role %q", *role)
		}
		pool, err := d.openPool(ctx)
		if err != nil {
			return err
		}
		if err := auth.Migrate(ctx, pool); err != nil {
			return err
		}
		key, err := auth.Add(ctx, pool, auth.Client{Name: *name, Role: httpapi.Role(*role), Region: *region, Bank: *bank})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stderr, "client %s (%s) created; its key is shown once:\n", *name, *role)
		fmt.Fprintln(env.stdout, key)
		return nil
	case "list":
		d, err := parseConfig(env, fs, rest)
		if err != nil {
			return err
		}
		defer d.close()
		pool, err := d.openPool(ctx)
		if err != nil {
			return err
		}
		clients, err := auth.List(ctx, pool)
		if err != nil {
			return err
		}
		for _, c := range clients {
			fmt.Fprintf(env.stdout, "%s\t%s\tregion=%s\tbank=%s\t%s\n", c.Name, c.Role, c.Region, c.Bank, c.CreatedAt.Format("2006-01-02"))
		}
		return nil
	}
	return usagef("want `clients add --name N --role R` or `clients list`")
}
