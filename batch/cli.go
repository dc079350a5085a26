package batch

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/cardledger/cardledger/batch/simulate"
	"github.com/cardledger/cardledger/domain"
)

// The CLI forms of the batch workflow. Each entry point takes the
// arguments after its command words and writes results to stdout (JSON for
// reports and queries) and diagnostics to stderr:
//
//	cardledger import applications FILE [--report OUT.json]      → ImportApplicationsCLI
//	cardledger batch SUBCOMMAND ...                                → BatchCLI
//	cardledger simulate bank|vendor EXPORT_FILE [--fail-rate 0.02] [--seed N] [-o OUT] → SimulateCLI
//	cardledger psam SUBCOMMAND ...                                 → PSAMCLI

// Open is New followed by the read model's migration; the CLI and the
// server use it.
func Open(ctx context.Context, d Deps) (*Service, error) {
	s, err := New(d)
	if err != nil {
		return nil, err
	}
	if err := s.readModel.Migrate(ctx); err != nil {
		return nil, err
	}
	if err := MigrateImportJobs(ctx, d.Pool); err != nil {
		return nil, err
	}
	return s, nil
}

// ErrUsage: the command line is wrong; the message says how.
var ErrUsage = errors.New("usage")

func usage(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, args...))
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// parseFlags parses flags that may come before or after positional args.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usage("%v", err)
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// ImportApplicationsCLI: cardledger import applications FILE [--report OUT.json].
// It prints the summary and the rejected rows; --report writes every row.
func ImportApplicationsCLI(ctx context.Context, d Deps, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import applications", flag.ContinueOnError)
	report := fs.String("report", "", "write the full per-row report (JSON) to this file")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usage("cardledger import applications FILE [--report OUT.json]")
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	s, err := Open(ctx, d)
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
		if l.Status != RowRejected {
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

// SimulateCLI: cardledger simulate bank|vendor EXPORT_FILE [--fail-rate R] [--seed N] [-o OUT].
// Without -o the return file goes to stdout.
func SimulateCLI(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	rate := fs.Float64("fail-rate", 0.02, "share of lines refused or failed (0..1)")
	seed := fs.Int64("seed", 1, "seed; the same seed gives the same return file")
	out := fs.String("o", "", "write the return file here instead of stdout")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || (pos[0] != "bank" && pos[0] != "vendor") || *rate < 0 || *rate > 1 {
		return usage("cardledger simulate bank|vendor EXPORT_FILE [--fail-rate 0.02] [--seed N] [-o OUT]")
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
		_, err = stdout.Write(ret)
		return err
	}
	if err := os.WriteFile(*out, ret, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s\n", *out)
	return nil
}

const batchUsage = `cardledger batch create [--id ID] [--region R] [--employer E] [--community C] [--source S] [--kind first_issue|replacement] [--limit N]
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

// BatchCLI: cardledger batch SUBCOMMAND ... (see batchUsage).
func BatchCLI(ctx context.Context, d Deps, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usage("\n%s", batchUsage)
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
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	need := func(n int) error {
		if len(pos) != n {
			return usage("\n%s", batchUsage)
		}
		return nil
	}
	s, err := Open(ctx, d)
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		if err := need(0); err != nil {
			return err
		}
		b, err := s.CreateBatch(ctx, *id, domain.BatchFilter{RegionCode: *region, EmployerCode: *employer, CommunityCode: *community,
			Source: domain.ApplicationSource(*source), Kind: domain.ApplicationKind(*kind), Limit: *limit})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "batch %s created with %d people\n", b.ID, len(b.Members))
		return nil
	case "list":
		if err := s.catchUp(ctx); err != nil {
			return err
		}
		list, err := s.readModel.Batches(ctx)
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
			return usage("JOB is a number\n%s", batchUsage)
		}
		var st *JobStatus
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
			jobs = []JobStatus{}
		}
		if werr := writeJSON(stdout, jobs); werr != nil {
			return werr
		}
		return err
	}
	return usage("unknown batch subcommand %q\n%s", sub, batchUsage)
}

func stepDone(w io.Writer, b *domain.Batch, err error) error {
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "batch %s is %s\n", b.ID, b.Step)
	return nil
}

func jobDone(w io.Writer, st *JobStatus, err error) error {
	if st != nil {
		if werr := writeJSON(w, st); werr != nil {
			return werr
		}
	}
	return err
}

const psamUsage = `cardledger psam stock-in SERIAL --warehouse W --on YYYY-MM-DD [--model M] [--vendor V]
cardledger psam issue SERIAL --agency A [--terminal T] --on YYYY-MM-DD
cardledger psam return SERIAL --warehouse W --on YYYY-MM-DD
cardledger psam damage SERIAL --reason TEXT --on YYYY-MM-DD
cardledger psam loss SERIAL --reason TEXT --on YYYY-MM-DD
cardledger psam show SERIAL
cardledger psam stock [--agency A]   (no agency: the warehouse)`

// PSAMCLI: cardledger psam SUBCOMMAND ... (see psamUsage).
func PSAMCLI(ctx context.Context, d Deps, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usage("\n%s", psamUsage)
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
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	s, err := Open(ctx, d)
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
		return usage("\n%s", psamUsage)
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
		return usage("unknown psam subcommand %q\n%s", sub, psamUsage)
	}
	p, err := s.PSAMCommand(ctx, serial, cmd)
	if err != nil {
		return err
	}
	return writeJSON(stdout, p)
}
