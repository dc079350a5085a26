package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cardledger/cardledger/batch"
	"github.com/cardledger/cardledger/batch/simulate"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/payments/banksim"
)

// The batch-production commands are a thin command line over package batch.
// The common flags come first, e.g. `cardledger import --log-format text
// applications FILE`; each subcommand's own flags may come before or after
// its positional arguments. Results go to stdout (JSON for reports and
// queries), diagnostics to stderr:
//
//	cardledger import applications FILE [--report OUT.json]
//	cardledger batch SUBCOMMAND ...                       (batchUsage)
//	cardledger simulate bank|vendor EXPORT_FILE [--fail-rate 0.02] [--seed N] [-o OUT]
//	cardledger simulate payment-bank [--listen ADDR] [--fail-rate 0] [--seed N]   (the payment bank port)
//	cardledger simulate province [--listen ADDR] ...     (simulate_province.go)
//	cardledger psam SUBCOMMAND ...                        (psamUsage, psam.go)

// simulatorServers are the counterparties `simulate NAME` serves over HTTP
// until interrupted (the payment bank is served from runSimulate's flags).
func simulatorServers() map[string]func(context.Context, *environment, []string) error {
	return map[string]func(context.Context, *environment, []string) error{
		"police":   runSimulatePolice,
		"province": runSimulateProvince,
		"pos":      runSimulatePOS,
		"sms":      runSimulateSMS,
	}
}

func runImport(ctx context.Context, env *environment, args []string) error {
	return withBatchDeps(ctx, env, "import", args, func(dd *deps, d batch.Deps, rest []string) error {
		switch v, r := verb(rest); v {
		case "applications":
			return importApplications(ctx, d, r, env.stdout)
		case "legacy-cards":
			return importLegacyCards(ctx, env, dd, d, r)
		}
		return usagef("want `import applications FILE` or `import legacy-cards FILE`")
	})
}

// runSimulate needs no database: it turns an export file into a return
// file, or serves a counterparty over HTTP until interrupted (servers).
func runSimulate(ctx context.Context, env *environment, args []string) error {
	if len(args) > 0 {
		if serve, ok := simulatorServers()[args[0]]; ok {
			return serve(ctx, env, args[1:])
		}
	}
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	rate := fs.Float64("fail-rate", 0.02, "share of lines refused or failed (0..1)")
	seed := fs.Int64("seed", 1, "seed; the same seed gives the same return file")
	out := fs.String("o", "", "write the return file here instead of stdout")
	listen := fs.String("listen", "127.0.0.1:9090", "payment-bank: the address to serve the bank port on")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 1 && pos[0] == "payment-bank" && *rate >= 0 && *rate <= 1 {
		return servePaymentBank(ctx, env, *listen, banksim.Options{FailRate: *rate, Seed: *seed})
	}
	if len(pos) != 2 || (pos[0] != "bank" && pos[0] != "vendor") || *rate < 0 || *rate > 1 {
		return batchUsagef("cardledger simulate bank|vendor EXPORT_FILE [--fail-rate 0.02] [--seed N] [-o OUT]\n" +
			"       cardledger simulate payment-bank [--listen 127.0.0.1:9090] [--fail-rate 0] [--seed N]")
	}
	export, err := os.ReadFile(pos[1])
	if err != nil {
		return err
	}
	sim := simulate.Bank
	if pos[0] == "vendor" {
		sim = simulate.Vendor
	}
	ret, err := sim(export, simulate.Options{FailRate: *rate, Seed: *seed})
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = env.stdout.Write(ret)
		return err
	}
	if err := os.WriteFile(*out, ret, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "wrote %s\n", *out)
	return nil
}

// withBatch parses the common flags, opens the stores and runs the
// subcommand with the rest of the arguments.
func withBatch(ctx context.Context, env *environment, name string, args []string, run func(batch.Deps, []string) error) error {
	return withBatchDeps(ctx, env, name, args, func(_ *deps, d batch.Deps, rest []string) error { return run(d, rest) })
}

// withBatchDeps is withBatch for subcommands that also need the process's
// logger and configuration.
func withBatchDeps(ctx context.Context, env *environment, name string, args []string, run func(*deps, batch.Deps, []string) error) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	d, err := parseConfig(env, fs, args)
	if err != nil {
		return err
	}
	defer d.close()
	store, err := d.openStore(ctx)
	if err != nil {
		return err
	}
	pool, err := d.openPool(ctx)
	if err != nil {
		return err
	}
	svc, err := commands.NewService(store, d.cfg.IDKey, time.Now)
	if err != nil {
		return err
	}
	photoStore, err := d.photoStore(ctx)
	if err != nil {
		return err
	}
	deps := batch.Deps{Store: store, Pool: pool, Commands: svc, IDKey: d.cfg.IDKey, Clock: time.Now,
		Actor: domain.Actor{Client: "cli", Operator: env.getenv("USER")}, Photos: photoStore}
	return run(d, deps, fs.Args())
}

// batchUsagef is a usage error worded as the batch commands always have
// ("usage: ..."), exit status 2.
func batchUsagef(format string, args ...any) error {
	return usageError{"usage: " + fmt.Sprintf(format, args...)}
}

// parseInterleaved parses flags that may come before or after positional
// arguments and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, batchUsagef("%v", err)
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// importApplications: cardledger import applications FILE [--report OUT.json].
// It prints the summary and the rejected rows; --report writes every row.
func importApplications(ctx context.Context, d batch.Deps, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("import applications", flag.ContinueOnError)
	report := fs.String("report", "", "write the full per-row report (JSON) to this file")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return batchUsagef("cardledger import applications FILE [--report OUT.json]")
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	s, err := batch.Open(ctx, d)
	if err != nil {
		return err
	}
	rep, err := s.ImportApplications(ctx, data)
	if err != nil {
		return err
	}
	if *report != "" {
		f, err := os.Create(*report)
		if err != nil {
			return err
		}
		if err := writeJSON(f, rep); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "%s (%s): %d rows, %d imported, %d already imported, %d rejected\n",
		pos[0], rep.Encoding, rep.Rows, rep.Imported, rep.AlreadyImported, rep.Rejected)
	for _, l := range rep.Lines {
		if l.Status != batch.RowRejected {
			continue
		}
		var ps []string
		for _, p := range l.Problems {
			ps = append(ps, p.Field+": "+p.Code+" ("+p.Message+")")
		}
		fmt.Fprintf(stdout, "  line %d %s: %s\n", l.Line, l.IDNumber, strings.Join(ps, "; "))
	}
	return nil
}

const batchUsage = `cardledger batch create [--id ID] [--region R] [--employer E] [--community C] [--source S] [--kind first_issue|replacement]
                        [--generation second|third] [--replaces-generation first|second|third] [--expiring-within MONTHS] [--limit N]
cardledger batch list
cardledger batch review ID --reviewer NAME [--note TEXT]
cardledger batch confirm ID --by NAME
cardledger batch export ID bank_open|production|bank_data [-o FILE]
cardledger batch import-return FILE
cardledger batch handover ID --from X --to Y --handler NAME
cardledger batch pickup ID --on YYYY-MM-DD --agency A
cardledger batch status ID
cardledger batch members ID [--stage STAGE]
cardledger batch job ID JOB
cardledger batch retry ID JOB
cardledger batch resume`

func runBatch(ctx context.Context, env *environment, args []string) error {
	return withBatch(ctx, env, "batch", args, func(d batch.Deps, rest []string) error {
		return batchCommand(ctx, d, rest, env.stdout)
	})
}

// batchCommand: cardledger batch SUBCOMMAND ... (see batchUsage).
func batchCommand(ctx context.Context, d batch.Deps, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return batchUsagef("\n%s", batchUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("batch "+sub, flag.ContinueOnError)
	var (
		id        = fs.String("id", "", "batch id (create)")
		region    = fs.String("region", "", "region code filter")
		employer  = fs.String("employer", "", "employer code filter")
		community = fs.String("community", "", "community code filter")
		source    = fs.String("source", "", "application source filter")
		kind      = fs.String("kind", "", "first_issue or replacement")
		limit     = fs.Int("limit", 0, "at most this many people")
		gen       = fs.String("generation", "", "the generation applied for: second or third")
		replGen   = fs.String("replaces-generation", "", "replacements of a card of this generation: first, second or third")
		expiring  = fs.Int("expiring-within", 0, "replacements of a card expiring within this many months (到期换卡)")
		reviewer  = fs.String("reviewer", "", "who reviewed")
		note      = fs.String("note", "", "review note")
		by        = fs.String("by", "", "who confirmed")
		out       = fs.String("o", "", "output file")
		from      = fs.String("from", "", "current custodian")
		to        = fs.String("to", "", "next custodian")
		handler   = fs.String("handler", "", "who handed over")
		on        = fs.String("on", "", "pick-up date YYYY-MM-DD")
		agency    = fs.String("agency", "", "who picked up")
		stage     = fs.String("stage", "", "only members at this stage")
	)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	need := func(n int) error {
		if len(pos) != n {
			return batchUsagef("\n%s", batchUsage)
		}
		return nil
	}
	s, err := batch.Open(ctx, d)
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		if err := need(0); err != nil {
			return err
		}
		b, err := s.CreateBatch(ctx, *id, domain.BatchFilter{RegionCode: *region, EmployerCode: *employer, CommunityCode: *community,
			Source: domain.ApplicationSource(*source), Kind: domain.ApplicationKind(*kind), Limit: *limit,
			Generation: domain.Generation(*gen), ReplacesGeneration: domain.Generation(*replGen), ExpiringWithinMonths: *expiring})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "batch %s created with %d people\n", b.ID, len(b.Members))
		return nil
	case "list":
		list, err := s.Batches(ctx)
		if err != nil {
			return err
		}
		return writeJSON(stdout, list)
	case "review":
		if err := need(1); err != nil {
			return err
		}
		b, err := s.Review(ctx, pos[0], *reviewer, *note)
		return stepDone(stdout, b, err)
	case "confirm":
		if err := need(1); err != nil {
			return err
		}
		b, err := s.Confirm(ctx, pos[0], *by)
		return stepDone(stdout, b, err)
	case "export":
		if err := need(2); err != nil {
			return err
		}
		data, err := s.Export(ctx, pos[0], domain.BatchFileKind(pos[1]))
		if err != nil {
			return err
		}
		name := *out
		if name == "" {
			name = pos[0] + "." + pos[1] + ".txt"
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", name)
		return nil
	case "import-return":
		if err := need(1); err != nil {
			return err
		}
		data, err := os.ReadFile(pos[0])
		if err != nil {
			return err
		}
		rep, err := s.ImportReturn(ctx, data)
		if rep != nil {
			if werr := writeJSON(stdout, rep); werr != nil {
				return werr
			}
		}
		return err
	case "handover":
		if err := need(1); err != nil {
			return err
		}
		st, err := s.HandOver(ctx, pos[0], *from, *to, *handler)
		return jobDone(stdout, st, err)
	case "pickup":
		if err := need(1); err != nil {
			return err
		}
		st, err := s.PickUp(ctx, pos[0], *on, *agency)
		return jobDone(stdout, st, err)
	case "status":
		if err := need(1); err != nil {
			return err
		}
		st, err := s.Status(ctx, pos[0])
		if err != nil {
			return err
		}
		return writeJSON(stdout, st)
	case "members":
		if err := need(1); err != nil {
			return err
		}
		ms, err := s.Members(ctx, pos[0], domain.MemberStage(*stage))
		if err != nil {
			return err
		}
		return writeJSON(stdout, ms)
	case "job", "retry":
		if err := need(2); err != nil {
			return err
		}
		seq, err := strconv.Atoi(pos[1])
		if err != nil {
			return batchUsagef("JOB is a number\n%s", batchUsage)
		}
		var st *batch.JobStatus
		if sub == "job" {
			st, err = s.Job(ctx, pos[0], seq)
		} else {
			st, err = s.Retry(ctx, pos[0], seq)
		}
		return jobDone(stdout, st, err)
	case "resume":
		// Jobs a server's worker is applying right now are left to it.
		jobs, err := s.ResumeAll(ctx)
		if jobs == nil {
			jobs = []batch.JobStatus{}
		}
		if werr := writeJSON(stdout, jobs); werr != nil {
			return werr
		}
		return err
	}
	return batchUsagef("unknown batch subcommand %q\n%s", sub, batchUsage)
}

func stepDone(w io.Writer, b *domain.Batch, err error) error {
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "batch %s is %s\n", b.ID, b.Step)
	return nil
}

func jobDone(w io.Writer, st *batch.JobStatus, err error) error {
	if st != nil {
		if werr := writeJSON(w, st); werr != nil {
			return werr
		}
	}
	return err
}

// servePaymentBank serves the simulated payment bank port (banksim) on
// addr until ctx ends; point CARDLEDGER_PAYMENT_BANK_URL at it.
func servePaymentBank(ctx context.Context, env *environment, addr string, o banksim.Options) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: banksim.Handler(o), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(env.stderr, "payment bank simulator on http://%s (fail rate %g, seed %d)\n", ln.Addr(), o.FailRate, o.Seed)
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
