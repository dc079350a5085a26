package main

import (
	"context"
	"flag"
	"io"

	"github.com/cardledger/cardledger/batch"
	"github.com/cardledger/cardledger/domain"
)

const psamUsage = `cardledger psam stock-in SERIAL --warehouse W --on YYYY-MM-DD [--model M] [--vendor V]
cardledger psam issue SERIAL --agency A [--terminal T] --on YYYY-MM-DD
cardledger psam return SERIAL --warehouse W --on YYYY-MM-DD
cardledger psam damage SERIAL --reason TEXT --on YYYY-MM-DD
cardledger psam loss SERIAL --reason TEXT --on YYYY-MM-DD
cardledger psam show SERIAL
cardledger psam stock [--agency A]   (no agency: the warehouse)`

func runPSAM(ctx context.Context, env *environment, args []string) error {
	return withBatch(ctx, env, "psam", args, func(d batch.Deps, rest []string) error {
		return psamCommand(ctx, d, rest, env.stdout)
	})
}

// psamCommand: cardledger psam SUBCOMMAND ... (see psamUsage).
func psamCommand(ctx context.Context, d batch.Deps, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return batchUsagef("\n%s", psamUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("psam "+sub, flag.ContinueOnError)
	var (
		warehouse = fs.String("warehouse", "", "warehouse")
		on        = fs.String("on", "", "date YYYY-MM-DD")
		model     = fs.String("model", "", "model")
		vendor    = fs.String("vendor", "", "vendor")
		agency    = fs.String("agency", "", "agency")
		terminal  = fs.String("terminal", "", "terminal id")
		reason    = fs.String("reason", "", "reason")
	)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	s, err := batch.Open(ctx, d)
	if err != nil {
		return err
	}
	if sub == "stock" {
		st, err := s.PSAMStock(ctx, *agency)
		if err != nil {
			return err
		}
		return writeJSON(stdout, st)
	}
	if len(pos) != 1 {
		return batchUsagef("\n%s", psamUsage)
	}
	serial := pos[0]
	var cmd domain.PSAMCommand
	switch sub {
	case "stock-in":
		cmd = domain.StockInPSAM{Serial: serial, Model: *model, Vendor: *vendor, Warehouse: *warehouse, ReceivedOn: *on}
	case "issue":
		cmd = domain.IssuePSAM{Serial: serial, Agency: *agency, TerminalID: *terminal, On: *on}
	case "return":
		cmd = domain.ReturnPSAM{Serial: serial, Warehouse: *warehouse, On: *on}
	case "damage":
		cmd = domain.ReportPSAMDamaged{Serial: serial, Reason: *reason, On: *on}
	case "loss":
		cmd = domain.ReportPSAMLost{Serial: serial, Reason: *reason, On: *on}
	case "show":
		p, err := s.PSAM(ctx, serial)
		if err != nil {
			return err
		}
		return writeJSON(stdout, p)
	default:
		return batchUsagef("unknown psam subcommand %q\n%s", sub, psamUsage)
	}
	p, err := s.PSAMCommand(ctx, serial, cmd)
	if err != nil {
		return err
	}
	return writeJSON(stdout, p)
}
