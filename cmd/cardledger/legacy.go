package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/batch"
	"github.com/cardledger/cardledger/commands"
)

// importLegacyCards: cardledger import legacy-cards FILE [--report OUT.json]
// [--workers N]. It shows progress on stderr (a bar on a terminal, log
// lines otherwise), prints the reconciled summary and every refused row
// with its line and field; --report writes the full per-row report.
func importLegacyCards(ctx context.Context, env *environment, dd *deps, d batch.Deps, args []string) error {
	fs := flag.NewFlagSet("import legacy-cards", flag.ContinueOnError)
	report := fs.String("report", "", "write the full per-row report (JSON) to this file")
	workers := fs.Int("workers", 8, "rows written at once")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *workers < 1 {
		return batchUsagef("cardledger import legacy-cards FILE [--report OUT.json] [--workers N]")
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	im, err := commands.NewLegacyImporter(d.Commands)
	if err != nil {
		return err
	}
	im.Workers = *workers
	progress := legacyProgress(env, dd.log)
	envl := commands.NewEnvelope(d.Actor, "cli")
	rep, err := im.Import(ctx, filepath.Base(pos[0]), data, envl, progress.update)
	progress.finish()
	if errors.Is(err, commands.ErrLegacyFile) {
		return usageError{fmt.Sprintf("%s: %v (see docs/migration.md)", pos[0], err)}
	}
	if err != nil {
		return err
	}
	if *report != "" {
		if err := writeReportFile(*report, rep); err != nil {
			return err
		}
	}
	writeLegacySummary(env.stdout, pos[0], rep)
	return nil
}

func writeReportFile(path string, v any) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeJSON(f, v); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeLegacySummary prints the counts, the reconciliation and one line
// per refused row naming its line and fields.
func writeLegacySummary(w io.Writer, file string, rep commands.LegacyReport) {
	fmt.Fprintf(w, "%s (%s): %d lines, %d imported, %d refused (%d duplicate, %d conflict, %d invalid); imported = lines - refused: %v\n",
		file, rep.Encoding, rep.Lines, rep.Imported, rep.Refused, rep.Duplicates, rep.Conflicts, rep.Invalid, rep.Reconciled)
	for _, r := range rep.Rows {
		if r.Outcome == commands.LegacyImported {
			continue
		}
		var fs []string
		for _, f := range r.Fields {
			fs = append(fs, f.Field+": "+f.Code+" ("+f.Message+")")
		}
		if len(fs) == 0 {
			fs = append(fs, r.Outcome)
		}
		head := fmt.Sprintf("line %d %s", r.Line, r.Outcome)
		if r.CardNo != "" {
			head += " " + r.CardNo
		}
		fmt.Fprintf(w, "  %s: %s\n", head, strings.Join(fs, "; "))
	}
}

// legacyImportProgress adapts the importer's (done, total) callback to the
// seeder's progress display.
type legacyImportProgress struct {
	mu   sync.Mutex
	show interface {
		Phase(string, int)
		Add(int)
		Finish()
	}
	started bool
	done    int
}

func legacyProgress(env *environment, log logrus.FieldLogger) *legacyImportProgress {
	p := &legacyImportProgress{}
	if env.isTerminal {
		p.show = &barProgress{out: env.stderr}
	} else {
		p.show = &logProgress{log: log, every: 2 * time.Second, what: "import"}
	}
	return p
}

func (p *legacyImportProgress) update(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.started {
		p.show.Phase("legacy cards", total)
		p.started = true
	}
	p.show.Add(done - p.done)
	p.done = done
}

func (p *legacyImportProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		p.show.Finish()
	}
}
