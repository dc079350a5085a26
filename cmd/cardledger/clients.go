package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/platform"
)

// runClients: `cardledger clients add --name N --role R [--region CODE]
// [--bank CODE] [--channel CODE] [--agency CODE] [--auth bearer|hmac|tls] [--subject DN] [--rate N]` prints
// the new bearer key or HMAC secret alone on its last line (nothing for tls:
// the certificate is the credential); `clients list` lists clients (never
// their credentials); `clients revoke NAME` revokes one.
func runClients(ctx context.Context, env *environment, args []string) error {
	v, rest := verb(args)
	fs := flag.NewFlagSet("clients "+v, flag.ContinueOnError)
	switch v {
	case "add":
		name := fs.String("name", "", "client name (unique)")
		role := fs.String("role", "", "role: "+roleNames())
		region := fs.String("region", "", "region scope (GB/T 2260 code), optional")
		bank := fs.String("bank", "", "bank scope (bank code), optional")
		channel := fs.String("channel", "", "e-card channel code, required with --role channel")
		agency := fs.String("agency", "", "agency or merchant code, required with --role terminal")
		method := fs.String("auth", "bearer", "how the client authenticates: bearer (API key), hmac (signed requests) or tls (client certificate)")
		subject := fs.String("subject", "", `client certificate subject for --auth tls, as in "CN=icbc-suzhou,O=ICBC"`)
		rate := fs.Float64("rate", 0, "requests per second for this client (0: the server default)")
		d, err := parseConfig(env, fs, rest)
		if err != nil {
			return err
		}
		defer d.close()
		if *name == "" || *role == "" {
			return usagef("--name and --role are required")
		}
		if strings.HasPrefix(*name, platform.SandboxClientPrefix) {
			// The server hands requests signed by such a name to the sandbox.
			return usagef("--name: names starting with %q are the sandbox's (docs/platform.md)", platform.SandboxClientPrefix)
		}
		if !httpapi.Role(*role).Valid() {
			return usagef("--role: unknown role %q; the roles are %s", *role, roleNames())
		}
		switch {
		case *role == string(httpapi.RoleChannel) && *channel == "":
			return usagef("--role channel needs --channel CODE")
		case *role != string(httpapi.RoleChannel) && *channel != "":
			return usagef("--channel is only for --role channel")
		case *role == string(httpapi.RoleTerminal) && *agency == "":
			return usagef("--role terminal needs --agency CODE")
		case *role != string(httpapi.RoleTerminal) && *agency != "":
			return usagef("--agency is only for --role terminal")
		}
		if *channel != "" {
			if err := domain.ValidateChannelCode(*channel); err != nil {
				return usagef("--channel: %v", err)
			}
		}
		if *region != "" {
			if err := domain.ValidateRegionCode(*region); err != nil {
				return usagef("--region: %v", err)
			}
		}
		switch *method {
		case httpapi.MethodBearer, httpapi.MethodHMAC:
			if *subject != "" {
				return usagef("--subject is only for --auth tls")
			}
		case httpapi.MethodTLS:
			if *subject == "" {
				return usagef("--auth tls needs --subject")
			}
		default:
			return usagef("--auth: want bearer, hmac or tls, not %q", *method)
		}
		if *rate < 0 {
			return usagef("--rate must not be negative")
		}
		pool, err := d.openPool(ctx)
		if err != nil {
			return err
		}
		if err := auth.Migrate(ctx, pool); err != nil {
			return err
		}
		secrets, err := d.clientSecretKeys()
		if err != nil {
			return err
		}
		cred, err := auth.AddSealed(ctx, pool, auth.Client{Name: *name, Role: httpapi.Role(*role), Region: *region, Bank: *bank,
			Channel: *channel, Agency: *agency, Auth: *method, CertSubject: *subject, RateLimit: *rate}, secrets)
		if err != nil {
			return err
		}
		switch *method {
		case httpapi.MethodTLS:
			fmt.Fprintf(env.stderr, "client %s (%s) created; it authenticates with the certificate %q\n", *name, *role, *subject)
		case httpapi.MethodHMAC:
			fmt.Fprintf(env.stderr, "client %s (%s) created; its signing secret is shown once:\n", *name, *role)
			fmt.Fprintln(env.stdout, cred)
		default:
			fmt.Fprintf(env.stderr, "client %s (%s) created; its key is shown once:\n", *name, *role)
			fmt.Fprintln(env.stdout, cred)
		}
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
		if err := auth.Migrate(ctx, pool); err != nil {
			return err
		}
		clients, err := auth.List(ctx, pool)
		if err != nil {
			return err
		}
		// Never a key or secret: only the hash or sealed form is stored.
		fmt.Fprintln(env.stdout, "NAME\tROLE\tREGION\tBANK\tCHANNEL\tAGENCY\tAUTH\tCREATED\tREVOKED")
		for _, c := range clients {
			revoked := "-"
			if !c.RevokedAt.IsZero() {
				revoked = c.RevokedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(env.stdout, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Role, orDash(c.Region), orDash(c.Bank),
				orDash(c.Channel), orDash(c.Agency), c.Auth,
				c.CreatedAt.UTC().Format(time.RFC3339), revoked)
		}
		return nil
	case "revoke":
		d, err := parseConfig(env, fs, rest)
		if err != nil {
			return err
		}
		defer d.close()
		if fs.NArg() != 1 {
			return usagef("usage: clients revoke NAME")
		}
		pool, err := d.openPool(ctx)
		if err != nil {
			return err
		}
		if err := auth.Migrate(ctx, pool); err != nil {
			return err
		}
		if err := auth.Revoke(ctx, pool, fs.Arg(0)); err != nil {
			if errors.Is(err, auth.ErrNoClient) {
				return fmt.Errorf("%w (see `cardledger clients list`)", err)
			}
			return err
		}
		fmt.Fprintf(env.stderr, "client %s revoked; running servers refuse its credential at once\n", fs.Arg(0))
		return nil
	}
	return usagef("want `clients add --name N --role R [--region CODE] [--bank CODE] [--channel CODE] [--agency CODE] [--auth bearer|hmac|tls] [--subject DN] [--rate N]` or `clients list` or `clients revoke NAME`")
}

// roleNames lists the roles for messages: "admin, counter, ...".
func roleNames() string {
	var names []string
	for _, r := range httpapi.Roles() {
		names = append(names, string(r))
	}
	return strings.Join(names, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
