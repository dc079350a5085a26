package commands_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
)

// The idempotency table keeps no plain hash of a request body (a
// registration's holds an ID number, a name, a phone): its hash is keyed, so
// knowing a person's details confirms nothing; rows from before (unkeyed)
// still match until they expire; and a row past retention is deleted, after
// which a retry is a new command.
func TestIdempotencyRequestHashIsKeyedAndExpires(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const key = "privacy-1"
	raw, err := json.Marshal(registerBody(7))
	require.NoError(t, err)
	first := e.do(http.MethodPost, "/v1/cardholders", keyCounter, string(raw), "Idempotency-Key", key)
	require.Equal(t, http.StatusCreated, first.Status, string(first.Body))

	storedHash := func() []byte {
		var h []byte
		require.NoError(t, e.pool.QueryRow(ctx, `SELECT request_hash FROM command_idempotency
			WHERE client = 'counter-futian' AND key = $1`, key).Scan(&h))
		return h
	}
	plain := sha256.New()
	plain.Write([]byte("POST /v1/cardholders\n"))
	plain.Write(raw)
	mac := hmac.New(sha256.New, testRequestHashKey)
	mac.Write([]byte("POST /v1/cardholders\n"))
	mac.Write(raw)
	assert.NotEqual(t, plain.Sum(nil), storedHash(), "the stored hash is not the plain SHA-256 of the body")
	assert.Equal(t, mac.Sum(nil), storedHash(), "the stored hash is the HMAC under the request-hash key")

	again := e.do(http.MethodPost, "/v1/cardholders", keyCounter, string(raw), "Idempotency-Key", key)
	assert.Equal(t, "true", again.Header.Get(commands.HeaderReplayed), "a retry still matches")
	assert.JSONEq(t, string(first.Body), string(again.Body))

	// A row written before hashes were keyed compares as before.
	_, err = e.pool.Exec(ctx, `UPDATE command_idempotency SET request_hash = $1 WHERE key = $2`, plain.Sum(nil), key)
	require.NoError(t, err)
	legacy := e.do(http.MethodPost, "/v1/cardholders", keyCounter, string(raw), "Idempotency-Key", key)
	assert.Equal(t, "true", legacy.Header.Get(commands.HeaderReplayed), "an unkeyed row still matches")

	// Past retention the row goes, and the retry is a new command.
	_, err = e.pool.Exec(ctx, `UPDATE command_idempotency SET claimed_at = now() - interval '25 hours' WHERE key = $1`, key)
	require.NoError(t, err)
	_, err = e.pool.Exec(ctx, `INSERT INTO command_idempotency (client, key, request_hash) VALUES ('other', 'fresh', '\x00')`)
	require.NoError(t, err)
	n, err := commands.DeleteExpiredIdempotency(ctx, e.pool, 24*time.Hour, 1)
	require.NoError(t, err)
	assert.Equal(t, int64(1), n, "only the row past retention is deleted (in batches of 1)")
	var rows int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM command_idempotency WHERE key = $1`, key).Scan(&rows))
	assert.Equal(t, 0, rows)
	// The retry is not answered from the table: it claims the key afresh and
	// runs; the stream still recognises the command by its id (derived
	// from the key), so nothing is appended twice.
	after := e.do(http.MethodPost, "/v1/cardholders", keyCounter, string(raw), "Idempotency-Key", key)
	require.Equal(t, http.StatusCreated, after.Status, string(after.Body))
	var fresh bool
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT claimed_at > now() - interval '1 hour' FROM command_idempotency
		WHERE client = 'counter-futian' AND key = $1`, key).Scan(&fresh))
	assert.True(t, fresh, "a retry after the window is claimed as a new command")
	assert.Equal(t, mac.Sum(nil), storedHash(), "and remembered again")
	assert.Equal(t, 1, e.streamLen(first.command(t).CardholderID), "nothing appended twice")
}
