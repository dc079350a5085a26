package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
	"github.com/cardledger/cardledger/internal/testpg"
)

func TestAuditVerifyAndDigest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := testpg.NewDatabase(t)
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": url, "CARDLEDGER_LOG_LEVEL": "warn",
		"CARDLEDGER_AUDIT_SIGNING_KEY": "0101010101010101010101010101010101010101010101010101010101010101"}
	cli := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		env := &environment{stdout: &out, stderr: &errOut, getenv: func(k string) string { return vars[k] }}
		return run(ctx, env, args), out.String(), errOut.String()
	}
	store := pgstoretest.OpenURL(t, url)
	var last eventstore.AppendResult
	for i := range 4 {
		var err error
		last, err = store.Append(ctx, "card-1", eventstore.Any(), []eventstore.EventData{
			{ID: uuid.New(), Type: "Tested", Data: fmt.Appendf(nil, `{"i":%d}`, i), Metadata: []byte(`{}`)}})
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		h, ok, err := store.Head(ctx)
		return err == nil && ok && !h.Position.Less(last.Position)
	}, 20*time.Second, 10*time.Millisecond)

	code, out, errOut := cli("audit", "verify", "--all")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "4 events in 1 streams checked, 0 broken streams")

	file := filepath.Join(t.TempDir(), "digest.json")
	code, out, errOut = cli("audit", "digest", "--out", file)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "digest 1: 1 streams")
	_, err := os.Stat(file)
	require.NoError(t, err)

	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `ALTER TABLE eventstore_events DISABLE TRIGGER eventstore_events_no_change;
		UPDATE eventstore_events SET data = '{"i":7}' WHERE stream = 'card-1' AND revision = 1;
		ALTER TABLE eventstore_events ENABLE TRIGGER eventstore_events_no_change;`)
	require.NoError(t, err)

	code, out, _ = cli("audit", "verify", "--stream", "card-1")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "BROKEN stream card-1 revision 1: altered: expected hash ")

	for _, which := range []string{file, "1"} {
		code, out, errOut = cli("audit", "verify", "--digest", which)
		assert.Equal(t, 1, code, errOut)
		assert.Contains(t, out, "signature good")
		assert.Contains(t, out, "BROKEN stream card-1 revision 1: altered")
	}

	code, _, errOut = cli("audit", "verify", "--digest", file, "--public-key", "0202020202020202020202020202020202020202020202020202020202020202")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "signature does not verify")

	code, _, _ = cli("audit", "verify", "--stream", "x", "--all")
	assert.Equal(t, 2, code)
}
