package main

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/cardledger/cardledger/internal/testpg"
	"github.com/stretchr/testify/require"

	"github.com/stretchr/testify/assert"
)

// cliRun runs the CLI with vars as its whole environment.
func cliRun(ctx context.Context, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	env := &environment{stdout: &out, stderr: &errOut, getenv: func(k string) string { return vars[k] }}
	return run(ctx, env, args), out.String(), errOut.String()
}

func TestHelpGoesToStdoutAndSucceeds(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"serve", "--help"}, {"seed", "-h"}, {"clients", "add", "--help"}, {"clients", "--help"}} {
		code, out, errOut := cliRun(ctx, nil, args...)
		assert.Equal(t, 0, code, "%v", args)
		assert.NotEmpty(t, out, "%v: usage on stdout", args)
		assert.Empty(t, errOut, "%v", args)
	}
	code, out, _ := cliRun(ctx, nil, "serve", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "-listen")

	code, out, errOut := cliRun(ctx, nil, "fly")
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Equal(t, "cardledger: unknown command \"fly\" (run `cardledger --help` for the commands)\n", errOut)

	code, out, errOut = cliRun(ctx, nil, "serve", "--bogus")
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Equal(t, "cardledger serve: flag provided but not defined: -bogus (run `cardledger serve -h` for the flags)\n", errOut)
}

func TestSecondSeedSaysWhatToDo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": testpg.NewDatabase(t), "CARDLEDGER_LOG_LEVEL": "error"}
	code, _, errOut := cliRun(ctx, vars, "migrate")
	require.Equal(t, 0, code, errOut)
	code, _, errOut = cliRun(ctx, vars, "seed", "--people", "3", "--months", "1")
	require.Equal(t, 0, code, errOut)
	code, out, errOut := cliRun(ctx, vars, "seed", "--people", "3", "--months", "1")
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Equal(t, "cardledger seed: the event store already holds events; seed fills only an empty system (add --if-empty to skip a seeded one, or seed a fresh database)\n", errOut)
	code, _, errOut = cliRun(ctx, vars, "seed", "--people", "3", "--months", "1", "--if-empty")
	assert.Equal(t, 0, code, errOut)
}

func TestSeedLifecyclesAppendsEachPersonsStreamOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": testpg.NewDatabase(t), "CARDLEDGER_LOG_LEVEL": "error"}
	code, _, errOut := cliRun(ctx, vars, "migrate")
	require.Equal(t, 0, code, errOut)
	code, out, errOut := cliRun(ctx, vars, "seed", "--people", "40", "--lifecycles")
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `^seeded in \S+: 40 people's card lifecycles, 369 events \(\d+ events/s\)\n$`, out)
	code, _, errOut = cliRun(ctx, vars, "seed", "--people", "40", "--lifecycles")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "the event store already holds events")
	// --first grows the store with new people; one seeded before is refused.
	code, out, errOut = cliRun(ctx, vars, "seed", "--people", "10", "--lifecycles", "--first", "40")
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `: 10 people's card lifecycles, \d+ events`, out)
	code, _, errOut = cliRun(ctx, vars, "seed", "--people", "5", "--lifecycles", "--first", "48")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "seed persons 48 to 52")
	// The batched appends keep every stream's hash chain intact.
	code, out, errOut = cliRun(ctx, vars, "audit", "verify", "--all")
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `\d+ events in 50 streams checked, 0 broken streams`, out)
}

func TestServeOnATakenPortSaysWhichSettingMovesIt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	addr := taken.Addr().String()
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": testpg.NewDatabase(t), "CARDLEDGER_LOG_LEVEL": "info", "CARDLEDGER_LISTEN": addr}
	for _, args := range [][]string{{"serve"}, {"serve", "--check-listen"}} {
		code, out, errOut := cliRun(ctx, vars, args...)
		assert.Equal(t, 1, code, "%v", args)
		assert.Empty(t, out)
		assert.Equal(t, "cardledger serve: listen tcp "+addr+": bind: address already in use — set CARDLEDGER_LISTEN or --listen to a free address\n", errOut,
			"%v: the port is checked before anything logs", args)
	}
	require.NoError(t, taken.Close())
	code, _, errOut := cliRun(ctx, vars, "serve", "--check-listen")
	assert.Equal(t, 0, code, errOut)
}
