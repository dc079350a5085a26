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

	code, _, errOut = cli("clients", "add", "--name", "x", "--role", "clerk")
	assert.Equal(t, 2, code)
	assert.Equal(t, "cardledger clients: --role: unknown role \"clerk\"; the roles are "+roleNames()+"\n", errOut)
	assert.Contains(t, errOut, "admin, counter, bank")

	code, out, _ = cli("clients", "list")
	require.Equal(t, 0, code)
	assert.True(t, strings.HasPrefix(out, "NAME\tROLE\tREGION\tBANK\tCHANNEL\tAGENCY\tAUTH\tCREATED\tREVOKED\n"), out)
	assert.Contains(t, out, "icbc-gw\tbank\t320500\t102\t-\t-\thmac\t")
	assert.Contains(t, out, "icbc-sz\tbank\t-\t-\t-\t-\ttls\t")
	assert.Contains(t, out, "wuzhong-1\tcounter\t320506\t-\t-\t-\tbearer\t")
	assert.NotContains(t, out, "\tx\t")
	assert.NotContains(t, out, "clk_")
	assert.NotContains(t, out, "cls_")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		assert.True(t, strings.HasSuffix(line, "\t-"), "not revoked yet: %q", line)
	}

	code, _, errOut = cli("clients", "revoke", "wuzhong-1")
	require.Equal(t, 0, code, errOut)
	code, out, _ = cli("clients", "list")
	require.Equal(t, 0, code)
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "wuzhong-1\t") {
			assert.False(t, strings.HasSuffix(line, "\t-"), "revocation recorded: %q", line)
		}
	}
	code, _, errOut = cli("clients", "revoke", "wuzhong-1")
	assert.Equal(t, 1, code)
	assert.Equal(t, "cardledger clients: revoke client wuzhong-1: client already revoked\n", errOut)
	code, _, errOut = cli("clients", "revoke", "nobody")
	assert.Equal(t, 1, code)
	assert.Equal(t, "cardledger clients: revoke client nobody: no such client (see `cardledger clients list`)\n", errOut)
	code, _, _ = cli("clients", "revoke")
	assert.Equal(t, 2, code)
}

// Channel and terminal clients carry their code; a channel code is checked
// (it is a scope and travels inside e-card codes), and neither code is
// accepted on another role.
func TestClientsAddChannelAndTerminal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": testpg.NewDatabase(t), "CARDLEDGER_LOG_LEVEL": "warn"}
	cli := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		env := &environment{stdout: &out, stderr: &errOut, getenv: func(k string) string { return vars[k] }}
		return run(ctx, env, args), out.String(), errOut.String()
	}
	code, out, errOut := cli("clients", "add", "--name", "rsapp-1", "--role", "channel", "--channel", "rsapp")
	require.Equal(t, 0, code, errOut)
	assert.True(t, strings.HasPrefix(strings.TrimSpace(out), "clk_"))
	code, _, errOut = cli("clients", "add", "--name", "hospital-1", "--role", "terminal", "--agency", "H0001", "--region", "320506")
	require.Equal(t, 0, code, errOut)

	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"--name", "x", "--role", "channel"}, "--role channel needs --channel CODE"},
		{[]string{"--name", "x", "--role", "channel", "--channel", "RS APP"}, "--channel: channel code \"RS APP\""},
		{[]string{"--name", "x", "--role", "channel", "--channel", "-rsapp"}, "--channel: channel code \"-rsapp\""},
		{[]string{"--name", "x", "--role", "channel", "--channel", "a-channel-code-too-long"}, "--channel: channel code must be 2 to 16"},
		{[]string{"--name", "x", "--role", "counter", "--channel", "rsapp"}, "--channel is only for --role channel"},
		{[]string{"--name", "x", "--role", "terminal"}, "--role terminal needs --agency CODE"},
		{[]string{"--name", "x", "--role", "bank", "--agency", "H0001"}, "--agency is only for --role terminal"},
		{[]string{"--name", "sandbox-x", "--role", "counter"}, "--name: names starting with \"sandbox-\" are the sandbox's"},
	} {
		code, _, errOut := cli(append([]string{"clients", "add"}, bad.args...)...)
		assert.Equal(t, 2, code, "%v", bad.args)
		assert.Contains(t, errOut, bad.want, "%v", bad.args)
	}

	code, out, _ = cli("clients", "list")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "rsapp-1\tchannel\t-\t-\trsapp\t-\tbearer\t")
	assert.Contains(t, out, "hospital-1\tterminal\t320506\t-\t-\tH0001\tbearer\t")
	assert.NotContains(t, out, "\tx\t")
}
