package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/testpg"
)

func TestClientsAddWithScopesAndAuthMethods(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": testpg.NewDatabase(t), "CARDLEDGER_LOG_LEVEL": "warn"}
	cli := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		env := &environment{stdout: &out, stderr: &errOut, getenv: func(k string) string { return vars[k] }}
		return run(ctx, env, args), out.String(), errOut.String()
	}
	code, out, _ := cli("clients", "add", "--name", "icbc-gw", "--role", "bank", "--bank", "102", "--region", "320500", "--auth", "hmac")
	require.Equal(t, 0, code)
	assert.True(t, strings.HasPrefix(strings.TrimSpace(out), "cls_"), "the secret alone on stdout: %q", out)
	conn, err := pgx.Connect(ctx, vars["CARDLEDGER_POSTGRES_URL"])
	require.NoError(t, err)
	var stored []byte
	require.NoError(t, conn.QueryRow(ctx, `SELECT hmac_secret FROM api_clients WHERE name = 'icbc-gw'`).Scan(&stored))
	require.NoError(t, conn.Close(ctx))
	assert.NotContains(t, string(stored), strings.TrimSpace(out), "the secret is sealed at rest")

	code, out, errOut := cli("clients", "add", "--name", "icbc-sz", "--role", "bank", "--auth", "tls", "--subject", "CN=icbc-suzhou,O=ICBC")
	require.Equal(t, 0, code, errOut)
	assert.Empty(t, out)
	assert.Contains(t, errOut, `"CN=icbc-suzhou,O=ICBC"`)

	code, out, _ = cli("clients", "add", "--name", "wuzhong-1", "--role", "counter", "--region", "320506")
	require.Equal(t, 0, code)
	assert.True(t, strings.HasPrefix(strings.TrimSpace(out), "clk_"))

	for _, bad := range [][]string{
		{"--name", "x", "--role", "counter", "--region", "3205"},
		{"--name", "x", "--role", "counter", "--auth", "password"},
		{"--name", "x", "--role", "bank", "--auth", "tls"},
		{"--name", "x", "--role", "bank", "--subject", "CN=x"},
		{"--name", "x", "--role", "bank", "--rate", "-1"},
	} {
		code, _, _ := cli(append([]string{"clients", "add"}, bad...)...)
		assert.NotEqual(t, 0, code, "%v", bad)
	}

	code, out, _ = cli("clients", "list")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "icbc-gw\tbank\tregion=320500\tbank=102\tauth=hmac\t")
	assert.Contains(t, out, "icbc-sz\tbank\tregion=\tbank=\tauth=tls\t")
	assert.Contains(t, out, "wuzhong-1\tcounter\tregion=320506\tbank=\tauth=bearer\t")
	assert.NotContains(t, out, "\tx\t")
}
