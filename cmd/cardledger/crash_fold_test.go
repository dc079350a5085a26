package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
)

// A one-append command's Idempotency-Key is recorded by its append (the
// server runs PostgreSQL in one database): no claim precedes it. A server
// SIGKILLed while the append waits leaves neither events nor a row, and
// the retry runs the command once; a server killed after the append
// committed leaves both, and the retry in a new process gets the same
// answer, byte for byte, marked as a replay.
func TestFoldedIdempotencyKeyAfterAServerCrash(t *testing.T) {
	if os.Getenv(envCrashServer) != "" {
		t.Skip("child process")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dbURL := testpg.NewDatabase(t)
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": dbURL, "CARDLEDGER_LOG_LEVEL": "warn", "CARDLEDGER_PROJECTIONS": "false"}
	require.Equal(t, 0, run(ctx, &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return vars[k] }},
		[]string{"migrate"}))
	pool := testpg.NewPool(t, dbURL)
	key, err := auth.Add(ctx, pool, auth.Client{Name: "fold-admin", Role: httpapi.RoleAdmin})
	require.NoError(t, err)

	srv := startCrashServer(t, ctx, dbURL, "fold-server-1-killed")
	first17 := "11010519491231007"
	idNumber := first17 + string(domain.IDCheckChar(first17))
	status, out, _ := post(t, ctx, srv.url, "/v1/cardholders", key, "", map[string]string{
		"id_number": idNumber, "name": "张三", "sex": string(domain.SexOf(idNumber)), "nationality": "CHN",
		"region_code": "320508", "phone": "13800000000", "employer_code": "E001", "community_code": "C001"})
	require.Equal(t, http.StatusCreated, status, string(out))
	var reg commands.CommandResponse
	require.NoError(t, json.Unmarshal(out, &reg))
	status, out, _ = post(t, ctx, srv.url, "/v1/cardholders/"+reg.CardholderID+"/instant-issuance", key, "",
		map[string]string{"bank_code": "102", "account_no": "6212260200012345678", "chip_id": "0123456789abcdef0123456789abcdef"})
	require.Equal(t, http.StatusOK, status, string(out))
	var issued commands.CommandResponse
	require.NoError(t, json.Unmarshal(out, &issued))
	stream := domain.StreamFor(reg.CardholderID)
	before := count(t, ctx, pool, `SELECT count(*) FROM eventstore_events WHERE stream = $1`, stream)
	path, body := "/v1/cards/"+issued.CardNo+"/temporary-loss", map[string]string{"reason": "crash"}
	const idemKey = "fold-crash"

	// Appends wait for this lock.
	hold, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer hold.Rollback(ctx)
	_, err = hold.Exec(ctx, "LOCK TABLE eventstore_events IN SHARE MODE")
	require.NoError(t, err)
	sent := make(chan error, 1)
	go func() {
		_, _, _, err := postErr(ctx, srv.url, path, key, idemKey, body)
		sent <- err
	}()
	poll(t, ctx, "the server waits to append", func() bool { return srv.waiting(t, ctx, pool) > 0 })
	assert.Equal(t, 0, count(t, ctx, pool, `SELECT count(*) FROM command_idempotency WHERE key = $1`, idemKey),
		"nothing claimed before the append")
	srv.kill(t, ctx, pool)
	require.NoError(t, hold.Rollback(ctx))
	require.Error(t, <-sent, "the client gets no answer from the killed server")
	require.Equal(t, before, count(t, ctx, pool, `SELECT count(*) FROM eventstore_events WHERE stream = $1`, stream))
	require.Equal(t, 0, count(t, ctx, pool, `SELECT count(*) FROM command_idempotency WHERE key = $1`, idemKey))

	srv = startCrashServer(t, ctx, dbURL, "fold-server-2-killed")
	status, first, header := post(t, ctx, srv.url, path, key, idemKey, body)
	require.Equal(t, http.StatusOK, status, string(first))
	assert.Empty(t, header.Get(commands.HeaderReplayed), "the command ran now")
	require.Equal(t, before+1, count(t, ctx, pool, `SELECT count(*) FROM eventstore_events WHERE stream = $1`, stream))
	require.Equal(t, 1, count(t, ctx, pool, `SELECT count(*) FROM command_idempotency
		WHERE key = $1 AND status = 200 AND response IS NULL AND token IS NULL`, idemKey), "recorded by the append")
	srv.kill(t, ctx, pool)

	srv = startCrashServer(t, ctx, dbURL, "fold-server-3")
	status, again, header := post(t, ctx, srv.url, path, key, idemKey, body)
	require.Equal(t, http.StatusOK, status, string(again))
	assert.Equal(t, string(first), string(again), "byte for byte")
	assert.Equal(t, "true", header.Get(commands.HeaderReplayed))
	assert.Equal(t, before+1, count(t, ctx, pool, `SELECT count(*) FROM eventstore_events WHERE stream = $1`, stream),
		"the command happened once")
}

// post sends body to path, with an Idempotency-Key unless idemKey is "".
func post(t *testing.T, ctx context.Context, url, path, key, idemKey string, body any) (int, []byte, http.Header) {
	t.Helper()
	status, out, header, err := postErr(ctx, url, path, key, idemKey, body)
	require.NoError(t, err)
	return status, out, header
}

func postErr(ctx context.Context, url, path, key, idemKey string, body any) (int, []byte, http.Header, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return 0, nil, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+path, bytes.NewReader(raw))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	if idemKey != "" {
		req.Header.Set(commands.HeaderIdempotencyKey, idemKey)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("post %s: %w", path, err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	return res.StatusCode, out, res.Header, err
}
