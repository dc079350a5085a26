package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cardledger/cardledger/internal/httpapi"
)

// DB is what this package needs of a connection or pool (*pgxpool.Pool and
// *pgx.Conn both qualify).
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Client is a registered API client, without its key.
type Client struct {
	Name      string
	Role      httpapi.Role
	Region    string // optional scope, "" for none
	Bank      string // optional scope, "" for none
	CreatedAt time.Time
}

// Principal is what the HTTP layer knows of the client.
func (c Client) Principal() httpapi.Principal {
	return httpapi.Principal{Client: c.Name, Role: c.Role, Region: c.Region, Bank: c.Bank}
}

var (
	// ErrClientExists: Add with a name already taken.
	ErrClientExists = errors.New("client already exists")
	// ErrNoClient: Remove of a name that is not registered.
	ErrNoClient = errors.New("no such client")
)

// keyPrefix makes keys recognisable in configs and secret scanners.
const keyPrefix = "clk_"

const schema = `
SELECT pg_advisory_xact_lock(7308012217001);
CREATE TABLE IF NOT EXISTS api_clients (
	name       text PRIMARY KEY CHECK (name <> ''),
	role       text NOT NULL,
	key_hash   bytea NOT NULL UNIQUE,
	region     text NOT NULL DEFAULT '',
	bank       text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL DEFAULT now()
);`

// Migrate creates the clients table if it is missing. Safe to run
// concurrently: the statements run in one implicit transaction under an
// advisory lock.
func Migrate(ctx context.Context, db DB) error {
	if _, err := db.Exec(ctx, schema); err != nil {
		return fmt.Errorf("migrate api_clients: %w", err)
	}
	return nil
}

// Add registers a client and returns its new key. The key is not stored and
// cannot be shown again.
func Add(ctx context.Context, db DB, c Client) (key string, err error) {
	c.Name = strings.TrimSpace(c.Name)
	if c.Name == "" {
		return "", errors.New("add client: name is required")
	}
	if !c.Role.Valid() {
		return "", fmt.Errorf("add client %s: unknown role %q", c.Name, c.Role)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("add client %s: random key: %w", c.Name, err)
	}
	key = keyPrefix + base64.RawURLEncoding.EncodeToString(raw)
	_, err = db.Exec(ctx,
		`INSERT INTO api_clients (name, role, key_hash, region, bank) VALUES ($1, $2, $3, $4, $5)`,
		c.Name, string(c.Role), hashKey(key), c.Region, c.Bank)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "api_clients_pkey" {
		return "", fmt.Errorf("add client %s: %w", c.Name, ErrClientExists)
	}
	if err != nil {
		return "", fmt.Errorf("add client %s: %w", c.Name, err)
	}
	return key, nil
}

// Remove deletes a client; its key stops working within the cache TTL.
func Remove(ctx context.Context, db DB, name string) error {
	tag, err := db.Exec(ctx, `DELETE FROM api_clients WHERE name = $1`, name)
	if err != nil {
		return fmt.Errorf("remove client %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("remove client %s: %w", name, ErrNoClient)
	}
	return nil
}

// List returns every client by name.
func List(ctx context.Context, db DB) ([]Client, error) {
	rows, err := db.Query(ctx, `SELECT name, role, region, bank, created_at FROM api_clients ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Client, error) {
		var c Client
		var role string
		err := r.Scan(&c.Name, &role, &c.Region, &c.Bank, &c.CreatedAt)
		c.Role = httpapi.Role(role)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return out, nil
}

func hashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}
