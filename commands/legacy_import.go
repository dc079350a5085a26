package commands

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/batch/files"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// Legacy card import (一代卡迁移, docs/migration.md). Every row goes through
// the one write path: its card number is reserved like any other (a taken
// number is a conflict), then MigrateCardholder is appended to the
// person's stream by Repository.Update. Command ids derive from the file's
// SHA-256 and the line, so importing the same file again appends nothing.

// Row outcomes of a legacy import report.
const (
	LegacyImported  = "imported"  // the holder's stream was created
	LegacyDuplicate = "duplicate" // already migrated with the same card and data
	LegacyConflict  = "conflict"  // the ID number is registered with other data, or the card number is taken
	LegacyInvalid   = "invalid"   // the row is unreadable or a field is wrong
)

// Codes of a refused row besides the domain's (errors[].code of a row).
const (
	CodeCardNumberTaken = "card_number_taken" // the legacy card number belongs to another cardholder
	CodeUndecodableLine = "undecodable_line"  // the line is not text in the file's encoding
)

// LegacyRowReport is the outcome of one line. It names the card and the
// stream, never the person (reports are logged and downloaded).
type LegacyRowReport struct {
	Line         int                 `json:"line"`
	Outcome      string              `json:"outcome"`
	CardNo       string              `json:"card_no,omitempty"`
	CardholderID string              `json:"cardholder_id,omitempty"`
	Code         string              `json:"code,omitempty"`
	Message      string              `json:"message,omitempty"`
	Fields       []domain.FieldError `json:"fields,omitempty"`
}

// LegacyReport is the per-row report of one import. Lines = Imported +
// Refused, Refused = Duplicates + Conflicts + Invalid; Reconciled says the
// counts add up (they always should: a false is a bug to report).
type LegacyReport struct {
	File       string            `json:"file"`
	SHA256     string            `json:"sha256"`
	Encoding   string            `json:"encoding"`
	Lines      int               `json:"lines"`
	Imported   int               `json:"imported"`
	Refused    int               `json:"refused"`
	Duplicates int               `json:"duplicates"`
	Conflicts  int               `json:"conflicts"`
	Invalid    int               `json:"invalid"`
	Reconciled bool              `json:"reconciled"`
	Rows       []LegacyRowReport `json:"rows"`
}

// LegacyImporter imports legacy card files.
type LegacyImporter struct {
	repo     *Repository
	numbers  *CardNumbers
	register *RegisterHandler
	// Workers is how many rows are written at once (default 8).
	Workers int
}

// NewLegacyImporter wires the importer over the service's handlers.
func NewLegacyImporter(s *Service) (*LegacyImporter, error) {
	if s == nil || s.Repository == nil || s.CardNumbers == nil || s.Register == nil {
		return nil, errors.New("commands: legacy importer needs the command service")
	}
	return &LegacyImporter{repo: s.Repository, numbers: s.CardNumbers, register: s.Register, Workers: 8}, nil
}

// ErrLegacyFile: the file as a whole cannot be imported (no usable header).
var ErrLegacyFile = errors.New("legacy card file unusable")

// legacyCommandID names the import of one line of one file's content.
func legacyCommandID(sha string, line int) uuid.UUID {
	return uuid.NewSHA1(namespace, fmt.Appendf(nil, "legacy-card\x00%s\x00%d", sha, line))
}

// Import reads data (named name) and writes every row; progress, if not
// nil, is called after each row with the rows done and the total. env
// gives actor and channel; its command id is replaced per row.
func (im *LegacyImporter) Import(ctx context.Context, name string, data []byte, env Envelope, progress func(done, total int)) (LegacyReport, error) {
	sum := sha256.Sum256(data)
	rep := LegacyReport{File: name, SHA256: hex.EncodeToString(sum[:])}
	f, err := files.ParseLegacyCards(data)
	rep.Encoding = f.Encoding
	if err != nil {
		return rep, fmt.Errorf("%w: %w", ErrLegacyFile, err)
	}
	rep.Lines = f.DataLines
	byLine := map[int]LegacyRowReport{}
	for _, b := range f.Bad {
		code := domain.CodeInvalidValue
		if b.Field == "encoding" {
			code = CodeUndecodableLine
		}
		byLine[b.Line] = LegacyRowReport{Line: b.Line, Outcome: LegacyInvalid, Code: domain.CodeInvalidCommand, Message: b.Message,
			Fields: []domain.FieldError{{Field: b.Field, Code: code, Message: b.Message}}}
	}
	// A line repeating an earlier line's card number or ID number waits for
	// the earlier one, so which line is imported and which is the duplicate
	// is the file's order, not the workers' timing.
	var first, later []files.LegacyCardRow
	seen := map[string]bool{}
	for _, r := range f.Rows {
		if seen["c"+r.CardNo] || seen["i"+r.IDNumber] {
			later = append(later, r)
		} else {
			first = append(first, r)
		}
		seen["c"+r.CardNo], seen["i"+r.IDNumber] = true, true
	}
	var mu sync.Mutex
	done, total := len(f.Bad), rep.Lines
	record := func(r LegacyRowReport) {
		mu.Lock()
		defer mu.Unlock()
		byLine[r.Line] = r
		done++
		if progress != nil {
			progress(done, total)
		}
	}
	if progress != nil && done > 0 {
		progress(done, total)
	}
	if err := im.run(ctx, first, name, rep.SHA256, env, record); err != nil {
		return rep, err
	}
	for _, r := range later {
		rr, err := im.row(ctx, r, name, rep.SHA256, env)
		if err != nil {
			return rep, err
		}
		record(rr)
	}
	for _, line := range slices.Sorted(maps.Keys(byLine)) {
		r := byLine[line]
		rep.Rows = append(rep.Rows, r)
		switch r.Outcome {
		case LegacyImported:
			rep.Imported++
		case LegacyDuplicate:
			rep.Duplicates++
		case LegacyConflict:
			rep.Conflicts++
		default:
			rep.Invalid++
		}
	}
	rep.Refused = rep.Duplicates + rep.Conflicts + rep.Invalid
	rep.Reconciled = rep.Imported == rep.Lines-rep.Refused && len(rep.Rows) == rep.Lines
	return rep, nil
}

// run writes rows with Workers goroutines; the first error (a store
// failure, not a refusal) stops the import: rows done stay done and a
// re-run finishes the rest.
func (im *LegacyImporter) run(ctx context.Context, rows []files.LegacyCardRow, name, sha string, env Envelope, record func(LegacyRowReport)) error {
	workers := max(im.Workers, 1)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan files.LegacyCardRow)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for r := range next {
				rr, err := im.row(ctx, r, name, sha, env)
				if err != nil {
					cancel(err)
					continue
				}
				record(rr)
			}
		})
	}
feed:
	for _, r := range rows {
		select {
		case next <- r:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	return nil
}

// row imports one row; refusals are reports, only failures of the store
// are errors.
func (im *LegacyImporter) row(ctx context.Context, r files.LegacyCardRow, name, sha string, env Envelope) (LegacyRowReport, error) {
	out := LegacyRowReport{Line: r.Line, CardNo: r.CardNo}
	env.CommandID = legacyCommandID(sha, r.Line)
	region := r.RegionCode
	if region == "" && len(r.IDNumber) >= 6 {
		region = r.IDNumber[:6] // where the ID number was issued: documented default
	}
	cmd := domain.MigrateCardholder{
		Cardholder: domain.RegisterCardholder{IDNumber: r.IDNumber, Name: r.Name, Nationality: "CHN", RegionCode: region},
		SourceFile: name, SourceSHA256: sha, Line: r.Line,
		LegacyCardNo: r.CardNo, IssuedOn: r.IssueDate, Status: r.Status, Agency: r.Agency, Today: im.repo.Now(),
	}
	id, idErr := im.register.IDFor(r.IDNumber)
	cmd.Cardholder.CardholderID = id
	if idErr != nil {
		cmd.Cardholder.CardholderID = "-"
	}
	// Validate on an empty stream first: a bad row reserves nothing.
	if _, err := domain.Decide(domain.NewCardholder(cmd.Cardholder.CardholderID), cmd); err != nil {
		e, ok := domain.AsError(err)
		if !ok {
			return out, fmt.Errorf("line %d: %w", r.Line, err)
		}
		if e.Kind == domain.KindInvalid {
			return refusedRow(out, LegacyInvalid, e), nil
		}
	}
	if idErr != nil {
		e, _ := domain.AsError(idErr)
		return refusedRow(out, LegacyInvalid, e), nil
	}
	out.CardholderID = id
	loaded, err := im.repo.Load(ctx, id)
	if err != nil {
		return out, fmt.Errorf("line %d: %w", r.Line, err)
	}
	if _, ok := im.repo.Replayed(loaded, env); ok {
		out.Outcome = LegacyDuplicate
		return out, nil
	}
	if loaded.State.Registered {
		if err := checkScope(env.Scope, loaded.State); err != nil {
			// Say nothing about a person outside the caller's scope.
			return scopeRow(out, err)
		}
		return im.compare(out, loaded.State, cmd), nil
	}
	if holder, err := im.numbers.reserveExact(ctx, env, r.CardNo, id); err != nil {
		return out, fmt.Errorf("line %d: %w", r.Line, err)
	} else if holder != id {
		out.Outcome, out.Code = LegacyConflict, CodeCardNumberTaken
		out.Message = fmt.Sprintf("card number %s belongs to another cardholder", r.CardNo)
		out.Fields = []domain.FieldError{{Field: "card_no", Code: CodeCardNumberTaken, Message: out.Message}}
		return out, nil
	}
	res, err := im.repo.Update(ctx, id, nil, env, func(s *domain.Cardholder) ([]domain.Event, error) {
		return domain.Decide(s, cmd)
	})
	if e, ok := domain.AsError(err); ok && e.Code == domain.CodeAlreadyRegistered {
		// Registered since the load: judge against what is there now.
		loaded, lerr := im.repo.Load(ctx, id)
		if lerr != nil {
			return out, fmt.Errorf("line %d: %w", r.Line, lerr)
		}
		return im.compare(out, loaded.State, cmd), nil
	}
	if e, ok := domain.AsError(err); ok {
		return refusedRow(out, LegacyConflict, e), nil
	}
	if _, ok := errors.AsType[*httpapi.ScopeError](err); ok {
		return scopeRow(out, err)
	}
	if err != nil {
		return out, fmt.Errorf("line %d: %w", r.Line, err)
	}
	out.Outcome = LegacyImported
	if res.Replayed {
		out.Outcome = LegacyDuplicate
	}
	return out, nil
}

// compare tells a duplicate (migrated before, with this card and name) from
// a conflict (the person is known with other data).
func (im *LegacyImporter) compare(out LegacyRowReport, s *domain.Cardholder, cmd domain.MigrateCardholder) LegacyRowReport {
	same := s.Migration != nil && s.Profile.Name == cmd.Cardholder.Name
	if same {
		same = false
		for _, c := range append(append([]domain.Card(nil), s.PastCards...), derefCard(s.Card)...) {
			if c.Generation == domain.GenerationFirst && c.CardNo == cmd.LegacyCardNo && c.IssuedOn == cmd.IssuedOn {
				same = true
			}
		}
	}
	if same {
		out.Outcome = LegacyDuplicate
		return out
	}
	out.Outcome, out.Code = LegacyConflict, domain.CodeAlreadyRegistered
	out.Message = "the ID number is registered with other data"
	out.Fields = []domain.FieldError{{Field: "id_number", Code: domain.CodeAlreadyRegistered, Message: out.Message}}
	return out
}

func derefCard(c *domain.Card) []domain.Card {
	if c == nil {
		return nil
	}
	return []domain.Card{*c}
}

func refusedRow(out LegacyRowReport, outcome string, e *domain.Error) LegacyRowReport {
	out.Outcome, out.Code, out.Message, out.Fields = outcome, e.Code, e.Message, e.Fields
	return out
}

// scopeRow reports a row whose person is outside the caller's scope (a
// region-bound counter) as a conflict on region_code; other errors stay errors.
func scopeRow(out LegacyRowReport, err error) (LegacyRowReport, error) {
	se, ok := errors.AsType[*httpapi.ScopeError](err)
	if !ok {
		return out, fmt.Errorf("line %d: %w", out.Line, err)
	}
	msg := fmt.Sprintf("the person is outside the caller's scope (region %q)", se.Scope.Region)
	out.CardholderID = ""
	out.Outcome, out.Code, out.Message = LegacyConflict, se.Code, msg
	out.Fields = []domain.FieldError{{Field: "region_code", Code: se.Code, Message: msg}}
	return out, nil
}
