package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cardledger/cardledger/reconcile"
)

const reconcileUsage = "cardledger reconcile daily MERCHANT DATE [-o FILE] | import MERCHANT FILE [--csv OUT.csv] | report MERCHANT DATE [--csv OUT.csv]"

// runReconcile: merchant reconciliation from the command line, for an
// operator (docs/platform.md, "Reconciliation"). daily writes the
// merchant's daily file and prints the day's totals; import reconciles a
// bank settlement file and prints the report (a refused file: every
// problem by line and field, exit status 1, nothing recorded); report
// prints a day's stored report.
func runReconcile(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	d, err := parseConfig(env, fs, args)
	if err != nil {
		return err
	}
	defer d.close()
	v, rest := verb(fs.Args())
	own := flag.NewFlagSet("reconcile "+v, flag.ContinueOnError)
	out := own.String("o", "", "write the daily file here instead of stdout")
	csvOut := own.String("csv", "", "also write the report's mismatches as CSV to this file")
	pos, err := parseInterleaved(own, rest)
	if err != nil {
		return err
	}
	if len(pos) != 2 || (v != "daily" && v != "import" && v != "report") {
		return batchUsagef(reconcileUsage)
	}
	pool, err := d.openPool(ctx)
	if err != nil {
		return err
	}
	store, err := d.openStore(ctx)
	if err != nil {
		return err
	}
	orders, err := reconcile.NewPaymentsOrders(store, pool)
	if err != nil {
		return err
	}
	svc, err := reconcile.NewService(ctx, orders, pool, time.Now)
	if err != nil {
		return err
	}
	merchant := pos[0]
	if _, err := svc.Merchant(ctx, merchant); errors.Is(err, reconcile.ErrNoMerchant) {
		return usageError{fmt.Sprintf("no merchant %q", merchant)}
	} else if err != nil {
		return err
	}
	day := func() (reconcile.Day, error) {
		d, err := reconcile.ParseDay(pos[1])
		if err != nil {
			return d, usageError{err.Error()}
		}
		return d, nil
	}
	switch v {
	case "daily":
		day, err := day()
		if err != nil {
			return err
		}
		st, err := svc.Daily(ctx, merchant, day)
		if err != nil {
			return err
		}
		if *out == "" {
			if _, err := env.stdout.Write(st.File); err != nil {
				return err
			}
		} else if err := os.WriteFile(*out, st.File, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", *out, err)
		}
		t := st.Totals
		fmt.Fprintf(env.stderr, "%s %s: %d payments %d fen, %d refunds %d fen, net %d fen; sha256 %s\n",
			merchant, st.Date, t.Payments, t.PaymentFen, t.Refunds, t.RefundFen, t.NetFen, st.SHA256)
		return nil
	case "import":
		data, err := os.ReadFile(pos[1])
		if err != nil {
			return err
		}
		r, replayed, err := svc.Import(ctx, merchant, data, "cli:"+env.getenv("USER"))
		var re *reconcile.RejectedError
		if errors.As(err, &re) {
			fmt.Fprintf(env.stderr, "%s: settlement file rejected, nothing recorded:\n", pos[1])
			for _, p := range re.Problems {
				fmt.Fprintf(env.stderr, "  %s: %s (%s)\n", p.Where(), p.Code, p.Message)
			}
			return exitCode(1)
		}
		if err != nil {
			return err
		}
		if replayed {
			fmt.Fprintf(env.stdout, "%s: imported before; the day's report, unchanged:\n", pos[1])
		}
		return printReport(env.stdout, r, *csvOut)
	default:
		day, err := day()
		if err != nil {
			return err
		}
		r, err := svc.Report(ctx, merchant, day)
		if errors.Is(err, reconcile.ErrNoReport) {
			return fmt.Errorf("%s on %s: %w", merchant, day, err)
		}
		if err != nil {
			return err
		}
		return printReport(env.stdout, r, *csvOut)
	}
}

// printReport prints the totals and one line per mismatch; csvPath, when
// set, gets the CSV.
func printReport(w io.Writer, r *reconcile.DayReport, csvPath string) error {
	fmt.Fprintf(w, "%s %s: %d bank lines, %d matched, %d mismatches\n", r.MerchantID, r.Date, r.Lines, r.Matched, len(r.Mismatches))
	fmt.Fprintf(w, "  ours: %d payments %d fen, %d refunds %d fen, net %d fen\n", r.Ours.Payments, r.Ours.PaymentFen, r.Ours.Refunds, r.Ours.RefundFen, r.Ours.NetFen)
	fmt.Fprintf(w, "  bank: %d payments %d fen, %d refunds %d fen, net %d fen\n", r.Bank.Payments, r.Bank.PaymentFen, r.Bank.Refunds, r.Bank.RefundFen, r.Bank.NetFen)
	for _, m := range r.Mismatches {
		fmt.Fprintf(w, "  %s %s %s", m.Kind, m.BankCode, m.BankTxnID)
		if m.OurAmountFen != nil {
			fmt.Fprintf(w, " ours %s %d", m.OurType, *m.OurAmountFen)
		}
		if m.BankAmountFen != nil {
			fmt.Fprintf(w, " bank %s %d (line %d)", m.BankType, *m.BankAmountFen, m.BankLine)
		}
		fmt.Fprintln(w)
	}
	if csvPath == "" {
		return nil
	}
	f, err := os.Create(csvPath)
	if err != nil {
		return err
	}
	if err := reconcile.WriteCSV(f, r); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", csvPath, err)
	}
	return f.Close()
}
