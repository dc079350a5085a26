package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore/piistore"
	"github.com/cardledger/cardledger/internal/testpg"
)

// readName reads the holder's registration through a fresh process
// configured with vars and returns the name it decrypts.
func readName(t *testing.T, ctx context.Context, vars map[string]string, id string) (string, error) {
	t.Helper()
	env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return vars[k] }}
	d, err := parseConfig(env, flag.NewFlagSet("test", flag.ContinueOnError), nil)
	require.NoError(t, err)
	defer d.close()
	store, err := d.openStore(ctx)
	require.NoError(t, err)
	events, err := store.ReadStream(ctx, domain.StreamFor(id), 0, 1)
	if err != nil {
		return "", err
	}
	e, err := domain.DecodeStoredEvent(events[0].Type, events[0].Data, events[0].Metadata)
	require.NoError(t, err)
	return e.(domain.CardholderRegistered).Name, nil
}

func TestKeysRotateRewrapsUnderTheNewMasterKey(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cli := func(vars map[string]string, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		env := &environment{stdout: &out, stderr: &errOut, getenv: func(k string) string { return vars[k] }}
		return run(ctx, env, args), out.String(), errOut.String()
	}
	code, oldKey, _ := cli(nil, "keys", "generate")
	require.Equal(t, 0, code)
	code, newKey, _ := cli(nil, "keys", "generate")
	require.Equal(t, 0, code)
	oldKey, newKey = strings.TrimSpace(oldKey), strings.TrimSpace(newKey)
	require.NotEqual(t, oldKey, newKey)
	oldM, err := piistore.ParseMasterKey(oldKey)
	require.NoError(t, err)
	newM, err := piistore.ParseMasterKey(newKey)
	require.NoError(t, err)

	pgURL := testpg.NewDatabase(t)
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": pgURL, "CARDLEDGER_MASTER_KEY": oldKey,
		"CARDLEDGER_LOG_LEVEL": "warn", "CARDLEDGER_RATE_LIMIT": "0"}
	s := startLoggedService(t, ctx, vars, io.Discard)
	id, _ := s.registerAndUse(t, keptPerson)

	code, out, errOut := cli(vars, "keys", "rotate", "--new-master-key", newKey)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "re-wrapped 1 data keys under master key "+newM.ID())
	assert.NotContains(t, out+errOut, newKey, "the command never prints a key")
	var st struct {
		Current string         `json:"current_master_key"`
		Live    map[string]int `json:"live_by_master_key"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &st), out)
	assert.Equal(t, oldM.ID(), st.Current, "the configuration still names the old key until it is changed")
	assert.Equal(t, map[string]int{newM.ID(): 1}, st.Live)

	onlyNew := map[string]string{"CARDLEDGER_POSTGRES_URL": pgURL, "CARDLEDGER_MASTER_KEY": newKey}
	name, err := readName(t, ctx, onlyNew, id)
	require.NoError(t, err, "the old master key is no longer needed")
	assert.Equal(t, keptPerson.name, name)

	_, err = readName(t, ctx, vars, id)
	assert.ErrorIs(t, err, piistore.ErrUnknownMasterKey, "the old key alone no longer opens the data")
	during := map[string]string{"CARDLEDGER_POSTGRES_URL": pgURL, "CARDLEDGER_MASTER_KEY": oldKey, "CARDLEDGER_MASTER_KEY_OLD": newKey}
	name, err = readName(t, ctx, during, id)
	require.NoError(t, err)
	assert.Equal(t, keptPerson.name, name)
}

func TestKeysCommandRefusesBadInput(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": testpg.NewDatabase(t)}
	for _, args := range [][]string{
		{"keys"}, {"keys", "rotate"}, {"keys", "rotate", "--new-master-key", "short"},
		{"keys", "rotate", "--new-master-key", "a", "--new-master-key-file", "b"},
	} {
		var errOut bytes.Buffer
		env := &environment{stdout: io.Discard, stderr: &errOut, getenv: func(k string) string { return vars[k] }}
		assert.NotEqual(t, 0, run(ctx, env, args), "%v", args)
		assert.NotContains(t, errOut.String(), "short", "%v: a bad key is never echoed", args)
	}
}
