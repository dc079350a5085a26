package audit

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/projections"
)

// DigestStream is the stream every stored digest is announced in, so the
// digests themselves are chained like any other history.
const DigestStream = "audit-digests"

// DigestSignedType is the event type of those announcements, and
// DigestSignedVersion the schema version of DigestSigned written in their
// metadata (audit owns the type; the domain codecs do not know it).
const (
	DigestSignedType    = "AuditDigestSigned"
	DigestSignedVersion = 1
)

// ErrDigestNotFound: no stored digest has that id.
var ErrDigestNotFound = errors.New("digest not found")

// digestNamespace derives announcement event ids, so a retried announcement
// is idempotent (a fixed random UUID; never change it).
var digestNamespace = uuid.MustParse("0d6f9d2e-3f5b-4c1e-9a77-5b8f2e41c9d3")

// Digester signs digests of the stream heads the audit projection keeps.
type Digester struct {
	pool  *pgxpool.Pool
	store eventstore.Store // nil: digests are stored but not announced
	key   ed25519.PrivateKey
	now   func() time.Time
}

// NewDigester returns a Digester signing with key; store may be nil.
func NewDigester(pool *pgxpool.Pool, store eventstore.Store, key ed25519.PrivateKey) *Digester {
	return &Digester{pool: pool, store: store, key: key, now: time.Now}
}

// Create signs a digest of every stream's head as of the audit projection's
// checkpoint (heads and checkpoint read in one snapshot), stores it and
// announces it in DigestStream.
func (d *Digester) Create(ctx context.Context) (*Digest, error) {
	var dg *Digest
	err := pgx.BeginTxFunc(ctx, d.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		pos, err := projections.SchemaCheckpoint(ctx, tx, Schema)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT stream, revision, hash FROM audit.stream_heads`)
		if err != nil {
			return err
		}
		heads, err := pgx.CollectRows(rows, scanHead)
		if err != nil {
			return err
		}
		dg = NewDigest(d.key, d.now(), pos, heads)
		if err := tx.QueryRow(ctx, `INSERT INTO audit.digests (created_at, position, streams, root, public_key, signature)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, dg.CreatedAt, dg.Position, len(dg.Heads),
			[]byte(dg.Root), []byte(dg.PublicKey), []byte(dg.Signature)).Scan(&dg.ID); err != nil {
			return err
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"audit", "digest_heads"}, []string{"digest_id", "stream", "revision", "hash"},
			pgx.CopyFromSlice(len(dg.Heads), func(i int) ([]any, error) {
				h := dg.Heads[i]
				return []any{dg.ID, h.Stream, int64(h.Revision), []byte(h.Hash)}, nil
			}))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("audit: create digest: %w", err)
	}
	if d.store != nil {
		if err := announce(ctx, d.store, dg); err != nil {
			return dg, err
		}
	}
	return dg, nil
}

// DigestSigned is the data of a DigestSignedType event: the digest without
// its heads, which stay in audit.digest_heads and digest files.
type DigestSigned struct {
	DigestID  int64     `json:"digest_id"`
	CreatedAt time.Time `json:"created_at"`
	Position  string    `json:"position"`
	Streams   int       `json:"streams"`
	Root      string    `json:"root"`
	PublicKey string    `json:"public_key"`
	Signature string    `json:"signature"`
}

// EventType and SchemaVersion make DigestSigned an event with its own
// version (commands.OwnVersion), encoded as its JSON (commands.EncodeJSON).
func (DigestSigned) EventType() string  { return DigestSignedType }
func (DigestSigned) SchemaVersion() int { return DigestSignedVersion }

// announce appends dg's DigestSigned, its id from the signature, so a
// retried announcement is the same event.
func announce(ctx context.Context, store eventstore.Store, dg *Digest) error {
	ev, err := commands.EncodeEvent(commands.EncodeJSON, commands.Envelope{Actor: domain.Actor{Client: "audit"}, Channel: "audit"},
		uuid.NewSHA1(digestNamespace, dg.Signature), dg.CreatedAt,
		DigestSigned{DigestID: dg.ID, CreatedAt: dg.CreatedAt, Position: dg.Position, Streams: len(dg.Heads),
			Root: hex.EncodeToString(dg.Root), PublicKey: hex.EncodeToString(dg.PublicKey), Signature: hex.EncodeToString(dg.Signature)})
	if err != nil {
		return err
	}
	if _, err := store.Append(ctx, DigestStream, eventstore.Any(), []eventstore.EventData{ev}); err != nil {
		return fmt.Errorf("audit: announce digest %d: %w", dg.ID, err)
	}
	return nil
}

// LoadDigest reads the stored digest with id.
func LoadDigest(ctx context.Context, pool *pgxpool.Pool, id int64) (*Digest, error) {
	dg := &Digest{Version: 1, ID: id}
	err := pool.QueryRow(ctx, `SELECT created_at, position, root, public_key, signature FROM audit.digests WHERE id = $1`, id).
		Scan(&dg.CreatedAt, &dg.Position, (*[]byte)(&dg.Root), (*[]byte)(&dg.PublicKey), (*[]byte)(&dg.Signature))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("audit: digest %d: %w", id, ErrDigestNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("audit: load digest %d: %w", id, err)
	}
	dg.CreatedAt = dg.CreatedAt.UTC()
	rows, err := pool.Query(ctx, `SELECT stream, revision, hash FROM audit.digest_heads
		WHERE digest_id = $1 ORDER BY stream COLLATE "C"`, id)
	if err != nil {
		return nil, fmt.Errorf("audit: load digest %d: %w", id, err)
	}
	dg.Heads, err = pgx.CollectRows(rows, scanHead)
	if err != nil {
		return nil, fmt.Errorf("audit: load digest %d: %w", id, err)
	}
	return dg, nil
}

// scanHead reads a (stream, revision, hash) row.
func scanHead(r pgx.CollectableRow) (Head, error) {
	var (
		h   Head
		rev int64
	)
	err := r.Scan(&h.Stream, &rev, (*[]byte)(&h.Hash))
	h.Revision = uint64(rev)
	return h, err
}

// digestLockKey is the advisory lock of the instance signing a digest.
var digestLockKey = func() int64 {
	h := fnv.New64a()
	h.Write([]byte("cardledger.audit.digest"))
	return int64(h.Sum64())
}()

// CreateIfDue creates a digest unless one was made less than nine tenths
// of every ago or another instance is making one now (nil, nil then). Every
// serve runs RunDigests; this makes one digest per interval of them all,
// not one per instance: the first instance to tick after the interval signs
// and the others, ticking within it, find its digest. If that instance
// dies, the next to tick takes over.
func (d *Digester) CreateIfDue(ctx context.Context, every time.Duration) (*Digest, error) {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: digest lock: %w", err)
	}
	defer conn.Release()
	var mine bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", digestLockKey).Scan(&mine); err != nil {
		return nil, fmt.Errorf("audit: digest lock: %w", err)
	}
	if !mine {
		return nil, nil
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", digestLockKey); err != nil {
			_ = conn.Conn().Close(context.WithoutCancel(ctx)) // closing releases it
		}
	}()
	var last *time.Time
	if err := conn.QueryRow(ctx, "SELECT max(created_at) FROM audit.digests").Scan(&last); err != nil {
		return nil, fmt.Errorf("audit: last digest: %w", err)
	}
	if last != nil && d.now().Sub(*last) < every-every/10 {
		return nil, nil
	}
	return d.Create(ctx)
}

// RunDigests creates a digest every interval until ctx ends, logging
// failures and carrying on; it returns ctx.Err(). Every serve runs it;
// CreateIfDue keeps it to one digest per interval across instances.
func RunDigests(ctx context.Context, d *Digester, interval time.Duration, log logrus.FieldLogger) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		dg, err := d.CreateIfDue(ctx, interval)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			log.WithError(err).Warn("audit digest failed")
			continue
		}
		if dg == nil {
			continue // another instance signed this interval's
		}
		log.WithFields(logrus.Fields{"digest_id": dg.ID, "streams": len(dg.Heads), "position": dg.Position,
			"root": hex.EncodeToString(dg.Root)}).Info("audit digest signed")
	}
}
