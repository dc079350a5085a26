package batch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/batch/files"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// Row statuses of an import report.
const (
	RowImported        = "imported"         // registered and applied now
	RowAlreadyImported = "already_imported" // an earlier import of this person did it; nothing written
	RowRejected        = "rejected"         // invalid or a duplicate; nothing written
)

// Import-specific problem codes (besides the domain's field codes).
const (
	CodeDuplicateInFile = "duplicate_in_file"
	CodeExists          = domain.CodeAlreadyRegistered
)

// ImportReport says what happened to every row of an application file.
type ImportReport struct {
	SHA256          string      `json:"sha256"`
	Encoding        string      `json:"encoding"`
	Rows            int         `json:"rows"`
	Imported        int         `json:"imported"`
	AlreadyImported int         `json:"already_imported"`
	Rejected        int         `json:"rejected"`
	Lines           []ImportRow `json:"lines"`
}

// ImportRow is one row's outcome. IDNumber is masked to its last 4 digits.
type ImportRow struct {
	Line          int                 `json:"line"`
	IDNumber      string              `json:"id_number"`
	Status        string              `json:"status"`
	CardholderID  string              `json:"cardholder_id,omitempty"`
	ApplicationID string              `json:"application_id,omitempty"`
	Problems      []domain.FieldError `json:"problems,omitempty"`
}

// ErrImportFile: the file as a whole cannot be read (encoding, CSV syntax,
// missing columns); no row was looked at.
var ErrImportFile = errors.New("application file unusable")

// ImportApplications validates every row of an application CSV and, for
// each valid one, registers the person and applies for a first card in one
// append to a new stream. Rows are validated by the same pure decisions
// the API uses; a person who already has a stream is rejected, unless the
// stream was started by an import of this same person (then the row is
// already_imported and nothing is written).
//
// When the store is an eventstore.MultiAppender, valid rows are written in
// chunks of importChunkRows new streams per AppendMany; a chunk that fails
// goes row by row, so the report is the same either way.
func (s *Service) ImportApplications(ctx context.Context, data []byte) (*ImportReport, error) {
	rows, enc, err := files.ParseApplications(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrImportFile, err)
	}
	sum := sha256.Sum256(data)
	// Event ids of this run derive from a fresh run id, so a stream written
	// by an earlier import is never mistaken for an idempotent retry of this
	// one; the earlier import is recognised by its causation id instead.
	run := uuid.New()
	rep := &ImportReport{SHA256: hex.EncodeToString(sum[:]), Encoding: enc, Rows: len(rows), Lines: make([]ImportRow, len(rows))}

	linesOf := map[string][]int{}
	for _, r := range rows {
		linesOf[r.IDNumber] = append(linesOf[r.IDNumber], r.Line)
	}
	var todo []importWork
	for i, r := range rows {
		out := &rep.Lines[i]
		out.Line, out.IDNumber = r.Line, domain.MaskIDNumber(r.IDNumber)
		if ls := linesOf[r.IDNumber]; len(ls) > 1 && r.IDNumber != "" {
			out.Status = RowRejected
			out.Problems = []domain.FieldError{{Field: "id_number", Code: CodeDuplicateInFile,
				Message: "the same ID number is on lines " + joinInts(ls)}}
			continue
		}
		id, events, problems := s.decideImportRow(r)
		if len(problems) > 0 {
			out.Status, out.Problems = RowRejected, problems
			continue
		}
		out.CardholderID = id
		out.ApplicationID = events[1].(domain.CardApplied).ApplicationID
		todo = append(todo, importWork{i: i, id: id, stream: domain.StreamFor(id), cmdID: importCommandID(id), events: events})
	}

	multi := s.holders.CreatesManyAtOnce()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	next := make(chan []importWork)
	for range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for chunk := range next {
				if multi {
					chunk = s.appendImportChunk(ctx, chunk, run, rep)
				}
				for _, w := range chunk {
					if err := s.importOneRow(ctx, w, run, rep); err != nil {
						mu.Lock()
						firstErr = cmpErr(firstErr, err)
						mu.Unlock()
					}
				}
			}
		}()
	}
	for chunk := range slices.Chunk(todo, importChunkRows) {
		if ctx.Err() != nil {
			break
		}
		next <- chunk
	}
	close(next)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return rep, fmt.Errorf("import applications: %w", firstErr)
	}
	for _, l := range rep.Lines {
		switch l.Status {
		case RowImported:
			rep.Imported++
		case RowAlreadyImported:
			rep.AlreadyImported++
		default:
			rep.Rejected++
		}
	}
	return rep, nil
}

// importWork is a valid row to append: its line's index in the report and
// the events of its new stream.
type importWork struct {
	i      int
	id     string // cardholder id
	stream string
	cmdID  uuid.UUID
	events []domain.Event
}

// importChunkRows is how many new people one AppendMany writes: one
// transaction (and one data-key insert under piistore) instead of one or
// two commits per person, which is what bounds an import on PostgreSQL.
const importChunkRows = 250

// maxChunkRetries bounds how often a chunk is retried without a row that
// turned out to be registered already, before the rest goes row by row.
const maxChunkRetries = 4

// appendImportChunk appends the rows of chunk as new streams with one
// AppendMany and records them imported. A row whose stream exists already
// fails the whole call; it is then resolved alone (already_imported or
// rejected, exactly as on the per-row path) and the rest is tried again. It
// returns the rows still to be done one by one: none, or all that are left
// after any other error or too many retries.
func (s *Service) appendImportChunk(ctx context.Context, chunk []importWork, run uuid.UUID, rep *ImportReport) []importWork {
	chunk = slices.Clone(chunk)
	for range maxChunkRetries {
		if len(chunk) == 0 {
			return nil
		}
		starts := make([]commands.Start[*domain.Cardholder], len(chunk))
		for j, w := range chunk {
			starts[j] = s.importStart(w, run, rep.SHA256)
		}
		results, err := s.holders.CreateMany(ctx, starts)
		if err == nil {
			for j, w := range chunk {
				s.written.advance(results[j].Position)
				rep.Lines[w.i].Status = RowImported
			}
			return nil
		}
		var wrong *eventstore.WrongRevisionError
		if !errors.As(err, &wrong) {
			return chunk
		}
		j := slices.IndexFunc(chunk, func(w importWork) bool { return w.stream == wrong.Stream })
		if j < 0 || s.importOneRow(ctx, chunk[j], run, rep) != nil {
			return chunk
		}
		chunk = slices.Delete(chunk, j, j+1)
	}
	return chunk
}

// importOneRow appends one row on its own and records its status.
func (s *Service) importOneRow(ctx context.Context, w importWork, run uuid.UUID, rep *ImportReport) error {
	status, err := s.appendImportRow(ctx, w, run, rep.SHA256)
	if err != nil {
		return err
	}
	out := &rep.Lines[w.i]
	out.Status = status
	if status == RowRejected {
		out.Problems = []domain.FieldError{{Field: "id_number", Code: CodeExists, Message: "this person is already registered"}}
		out.ApplicationID = ""
	}
	return nil
}

// importStart is the registration and application of one person as the
// start of their stream. The events were decided already (decideImportRow,
// which reports every problem of the row); the command of this run is
// caused by the person's import command, which a later import finds.
func (s *Service) importStart(w importWork, run uuid.UUID, fileSHA string) commands.Start[*domain.Cardholder] {
	env := s.envelope(commandID(run.String(), w.cmdID.String()), importCorrelation(fileSHA))
	env.CausationID = w.cmdID.String()
	return commands.Start[*domain.Cardholder]{ID: w.id, Env: env,
		Decide: func(*domain.Cardholder) ([]domain.Event, error) { return w.events, nil }}
}

func importCorrelation(fileSHA string) string { return "import-" + fileSHA[:16] }

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// importCommandID names the import of one person. It depends on the person
// only, so importing them again (same file or another) finds the first import.
func importCommandID(cardholderID string) uuid.UUID {
	return commandID("import", cardholderID)
}

// decideImportRow runs the registration and the application through
// domain.Decide on an empty cardholder and returns both events, or every
// problem with the row.
func (s *Service) decideImportRow(r files.ApplicationRow) (string, []domain.Event, []domain.FieldError) {
	reg := domain.RegisterCardholder{
		IDNumber: r.IDNumber, Name: r.Name, Sex: r.Sex, Nationality: r.Nationality, RegionCode: r.RegionCode,
		Phone: r.Phone, EmployerCode: r.EmployerCode, CommunityCode: r.CommunityCode,
	}
	id := "-" // the stream name of an invalid ID number does not matter: nothing is written
	if domain.ValidateIDNumber(r.IDNumber) == nil {
		id = domain.CardholderIDFor(s.idKey, r.IDNumber)
	}
	reg.CardholderID = id
	c := domain.NewCardholder(id)
	regEvents, err := domain.Decide(c, reg)
	if err != nil {
		return "", nil, problemsOf(err)
	}
	for _, e := range regEvents {
		c.Apply(e)
	}
	apply := domain.ApplyForCard{
		ApplicationID: commands.ApplicationIDFor(importCommandID(id)),
		Source:        domain.SourceBatch, BankCode: r.BankCode, PhotoRef: r.PhotoRef,
	}
	appEvents, err := domain.Decide(c, apply)
	if err != nil {
		return "", nil, problemsOf(err)
	}
	return id, append(regEvents, appEvents...), nil
}

func problemsOf(err error) []domain.FieldError {
	de, ok := domain.AsError(err)
	if !ok {
		return []domain.FieldError{{Field: "row", Code: "error", Message: err.Error()}}
	}
	if len(de.Fields) > 0 {
		return de.Fields
	}
	return []domain.FieldError{{Field: "row", Code: de.Code, Message: de.Message}}
}

// appendImportRow writes a new cardholder stream. A stream that exists
// already was started by an import of this person (already_imported) or by
// someone else (rejected).
func (s *Service) appendImportRow(ctx context.Context, w importWork, run uuid.UUID, fileSHA string) (string, error) {
	stream, cmdID := w.stream, w.cmdID
	out, err := s.holders.Create(ctx, s.importStart(w, run, fileSHA))
	if err == nil {
		s.written.advance(out.Position)
		return RowImported, nil
	}
	if !errors.Is(err, eventstore.ErrWrongRevision) {
		return "", err
	}
	first, err := s.store.ReadStream(ctx, stream, 0, 1)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", stream, err)
	}
	var md domain.Metadata
	if len(first) == 1 && json.Unmarshal(first[0].Metadata, &md) == nil && md.CausationID == cmdID.String() {
		return RowAlreadyImported, nil
	}
	return RowRejected, nil
}

func joinInts(xs []int) string {
	sort.Ints(xs)
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ", ")
}
