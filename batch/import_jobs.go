package batch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/batch/files"
	"github.com/cardledger/cardledger/domain"
)

// Application imports over HTTP run in the background: a 100,000-row file
// takes minutes, far past the server's write timeout. The request checks
// the file as a whole, records an import job and answers 202; the import
// runs in this process and its report is kept with the job. The file
// itself is not stored (it is personal data in clear), so an import whose
// process died is reported interrupted: sending the same file again is
// safe, the rows it had imported come back already_imported.

// Import job states.
const (
	ImportRunning     = "running"
	ImportFinished    = "finished"
	ImportFailed      = "failed"      // stopped on an error; see Error
	ImportInterrupted = "interrupted" // its process died; send the file again
)

// CodeImportNotFound: no import job with that id.
const CodeImportNotFound = "import_not_found"

// ImportJob is the import resource.
type ImportJob struct {
	ImportID   string        `json:"import_id"`
	State      string        `json:"state"`
	SHA256     string        `json:"sha256"`
	Encoding   string        `json:"encoding"`
	Rows       int           `json:"rows"`
	StartedAt  time.Time     `json:"started_at"`
	FinishedAt *time.Time    `json:"finished_at,omitempty"`
	Report     *ImportReport `json:"report,omitempty"` // once finished
	Error      string        `json:"error,omitempty"`
}

const importJobsDDL = `
CREATE SCHEMA IF NOT EXISTS batchrm;
CREATE TABLE IF NOT EXISTS batchrm.import_jobs (
	import_id   text PRIMARY KEY,
	state       text NOT NULL,
	sha256      text NOT NULL,
	encoding    text NOT NULL,
	rows        int NOT NULL,
	started_at  timestamptz NOT NULL,
	finished_at timestamptz,
	report      jsonb,
	error       text NOT NULL DEFAULT ''
);`

// MigrateImportJobs creates the import job table if it is missing; idempotent.
func MigrateImportJobs(ctx context.Context, pool *pgxpool.Pool) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrateLockKey)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, importJobsDDL)
		return err
	})
	if err != nil {
		return fmt.Errorf("batch import jobs: migrate: %w", err)
	}
	return nil
}

func importLockKey(id string) int64 {
	h := fnv.New64a()
	h.Write([]byte("cardledger.batch.import." + id))
	return int64(h.Sum64())
}

// StartImport checks an application CSV as a whole (encoding, CSV syntax,
// required columns: ErrImportFile, nothing recorded), records an import
// job and imports the rows in the background.
func (s *Service) StartImport(ctx context.Context, data []byte) (*ImportJob, error) {
	rows, enc, err := files.ParseApplications(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrImportFile, err)
	}
	sum := sha256.Sum256(data)
	job := &ImportJob{ImportID: uuid.NewString(), State: ImportRunning, SHA256: hex.EncodeToString(sum[:]),
		Encoding: enc, Rows: len(rows), StartedAt: s.clock().UTC().Truncate(time.Microsecond)}
	_, err = s.pool.Exec(ctx, `INSERT INTO batchrm.import_jobs (import_id, state, sha256, encoding, rows, started_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, job.ImportID, job.State, job.SHA256, job.Encoding, job.Rows, job.StartedAt)
	if err != nil {
		return nil, fmt.Errorf("record import: %w", err)
	}
	// The lock says "a live process runs this import"; it is taken before
	// answering, so a reader never takes a starting import for a dead one.
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock import: %w", err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", importLockKey(job.ImportID)); err != nil {
		conn.Release()
		return nil, fmt.Errorf("lock import: %w", err)
	}
	s.imports.Add(1)
	go func() {
		defer s.imports.Done()
		// The import outlives the request that started it.
		ctx := context.WithoutCancel(ctx)
		defer func() {
			_, _ = conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", importLockKey(job.ImportID))
			conn.Release()
		}()
		rep, err := s.ImportApplications(ctx, data)
		state, msg := ImportFinished, ""
		if err != nil {
			state, msg = ImportFailed, err.Error()
		}
		var report []byte
		if rep != nil && err == nil {
			report, _ = json.Marshal(rep)
		}
		_, _ = s.pool.Exec(ctx, `UPDATE batchrm.import_jobs SET state = $2, finished_at = $3, report = $4, error = $5
			WHERE import_id = $1`, job.ImportID, state, s.clock().UTC(), report, msg)
	}()
	return job, nil
}

// WaitImports waits for the background imports this process started.
func (s *Service) WaitImports() { s.imports.Wait() }

// ImportJob returns an import job; a running one whose process died is
// marked interrupted first.
func (s *Service) ImportJob(ctx context.Context, id string) (*ImportJob, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, domain.NotFound(CodeImportNotFound, "no import %q", id)
	}
	job, err := s.readImportJob(ctx, id)
	if err != nil || job.State != ImportRunning {
		return job, err
	}
	var free bool
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock($1)", importLockKey(id)).Scan(&free); err != nil || !free {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE batchrm.import_jobs SET state = $2, error = $3 WHERE import_id = $1 AND state = $4`,
			id, ImportInterrupted, "the process running the import stopped; send the file again (rows already imported are recognised)", ImportRunning)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", id, err)
	}
	if !free {
		return job, nil
	}
	return s.readImportJob(ctx, id)
}

func (s *Service) readImportJob(ctx context.Context, id string) (*ImportJob, error) {
	job := &ImportJob{ImportID: id}
	var report []byte
	err := s.pool.QueryRow(ctx, `SELECT state, sha256, encoding, rows, started_at, finished_at, report, error
		FROM batchrm.import_jobs WHERE import_id = $1`, id).
		Scan(&job.State, &job.SHA256, &job.Encoding, &job.Rows, &job.StartedAt, &job.FinishedAt, &report, &job.Error)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, domain.NotFound(CodeImportNotFound, "no import %q", id)
	}
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", id, err)
	}
	if report != nil {
		job.Report = &ImportReport{}
		if err := json.Unmarshal(report, job.Report); err != nil {
			return nil, fmt.Errorf("import %s report: %w", id, err)
		}
	}
	return job, nil
}
