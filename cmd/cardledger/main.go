// Command cardledger is the card ledger's one binary: the HTTP service, the
// projection worker, migrations, API clients, the offline blacklist copy,
// imports, simulators, the demo seeder and load commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// version is set by the build (-ldflags "-X main.version=...").
var version = "dev"

// subcommand is one entry of the command table. run gets the arguments after
// the subcommand's name (subcommands with their own verbs, like "clients add",
// dispatch further themselves).
type subcommand struct {
	name  string
	usage string
	run   func(ctx context.Context, env *environment, args []string) error
}

// environment is what every subcommand may use: streams and the process env.
type environment struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	isTerminal     bool
}

func commandTable() []subcommand {
	return []subcommand{
		{"serve", "run the HTTP API (and the projections unless --projections=false)", runServe},
		{"project", "run the projections only (scale-out worker)", runProject},
		{"projections", "projections rebuild [NAME]: rebuild read models from position zero", runProjections},
		{"migrate", "create or update every table (PostgreSQL event store and read models, ClickHouse)", runMigrate},
		{"clients", "clients add --name N --role R | list | revoke NAME: API clients (add prints the key once)", runClients},
		{"blacklist", "blacklist sync --dir DIR | blacklist check --dir DIR CARD_NO: offline blacklist copy", runBlacklist},
		{"seed", "seed --people N --months M: fill the system with a demo city", runSeed},
		{"demo-card", "print the virtual card's options (CARD_ARGS) for an active card of this city (scripts/counter-demo.sh)", runDemoCard},
		{"import", "import applications FILE | import legacy-cards FILE: bulk applications, first-generation cards (一代卡迁移), CSV in UTF-8 or GB18030", runImport},
		{"batch", "batch ...: batch production workflow (see `cardledger batch help`)", runBatch},
		{"psam", "psam ...: PSAM (terminal security module) stock: stock-in, issue, damage, query", runPSAM},
		{"simulate", "simulate bank|vendor EXPORT_FILE: write the return file that party would send; simulate police|province|payment-bank|pos|sms ...: serve that counterparty over HTTP", runSimulate},
		{"reconcile", "reconcile daily|import|report MERCHANT ...: merchant reconciliation (商户对账), daily files and bank settlement files", runReconcile},
		{"bench", "bench http|commands|store: load commands with figures (the other benchmarks: scripts/bench.sh)", runBench},
		{"audit", "audit verify [--stream S | --all | --digest FILE|ID] | audit digest [--out FILE]: tamper-evidence", runAudit},
		{"ecard", "ecard keys rotate [--overlap D] | keys list | keys fetch --dir DIR | ecard verify CODE: e-card code keys, offline verification", runECard},
		{"keys", "keys generate | status | rotate --new-master-key-file F: master key for personal data", runKeys},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &environment{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, isTerminal: isTerminal(os.Stderr)}
	os.Exit(run(ctx, env, os.Args[1:]))
}

func run(ctx context.Context, env *environment, args []string) int {
	table := commandTable()
	if len(args) == 0 {
		printUsage(env.stderr, table)
		return 2
	}
	if args[0] == "help" || isHelpFlag(args[0]) {
		// Asked for: usage is the answer, on stdout, and success.
		printUsage(env.stdout, table)
		return 0
	}
	for _, c := range table {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0 // parseConfig printed the flags on stdout
		case errors.Is(err, context.Canceled):
			return 130
		}
		var code exitCode
		if errors.As(err, &code) {
			return int(code)
		}
		var u usageError
		if errors.As(err, &u) {
			if wantsHelp(args[1:]) {
				// `clients --help`: the verbs' usage is the answer.
				fmt.Fprintf(env.stdout, "cardledger %s: %s\n%v\n", c.name, c.usage, err)
				return 0
			}
			fmt.Fprintf(env.stderr, "cardledger %s: %v\n", c.name, err)
			return 2
		}
		fmt.Fprintf(env.stderr, "cardledger %s: %v\n", c.name, err)
		return 1
	}
	fmt.Fprintf(env.stderr, "cardledger: unknown command %q (run `cardledger --help` for the commands)\n", args[0])
	return 2
}

func printUsage(w io.Writer, table []subcommand) {
	fmt.Fprintln(w, "usage: cardledger COMMAND [flags]\n\ncommands:")
	sort.SliceStable(table, func(i, j int) bool { return table[i].name < table[j].name })
	for _, c := range table {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.usage)
	}
	fmt.Fprintln(w, "\nEvery command takes the common flags (see `cardledger COMMAND -h`); each flag overrides its CARDLEDGER_* variable.")
}

func isHelpFlag(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

// wantsHelp reports whether args ask for help before any "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if isHelpFlag(a) {
			return true
		}
	}
	return false
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

func runVersion(_ context.Context, env *environment, _ []string) error {
	fmt.Fprintln(env.stdout, "cardledger", version)
	return nil
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// verb splits "add --name x" into "add" and the rest.
func verb(args []string) (string, []string) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", args
	}
	return args[0], args[1:]
}

// exitCode is an error that only carries the process exit status (the
// subcommand already said why).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
