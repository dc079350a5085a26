package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/testpg"
)

// TestBatchCommandLine drives the batch-production commands through the
// binary's command table: flags after positional arguments, JSON results on
// stdout, and usage mistakes answered with exit status 2 and the usage text.
func TestBatchCommandLine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": testpg.NewDatabase(t), "USER": "tester"}
	cli := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		env := &environment{stdout: &out, stderr: &errOut, getenv: func(k string) string { return vars[k] }}
		return run(ctx, env, args), out.String(), errOut.String()
	}
	dir := t.TempDir()
	// Commands that open the stores log first (the development master key
	// warning) before their usage text.

	code, _, stderr := cli("simulate", "bank")
	assert.Equal(t, 2, code)
	assert.Equal(t, "cardledger simulate: usage: cardledger simulate bank|vendor EXPORT_FILE [--fail-rate 0.02] [--seed N] [-o OUT]\n"+
		"       cardledger simulate payment-bank [--listen 127.0.0.1:9090] [--fail-rate 0] [--seed N]\n", stderr)
	code, _, stderr = cli("batch")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "cardledger batch: usage: \n"+batchUsage+"\n")
	code, _, stderr = cli("batch", "job", "B1", "x")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "cardledger batch: usage: JOB is a number\n"+batchUsage+"\n")
	code, _, stderr = cli("psam", "fly", "PSAM0001")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "cardledger psam: usage: unknown psam subcommand \"fly\"\n"+psamUsage+"\n")
	code, _, stderr = cli("import", "applications", "a.csv", "--nope")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "cardledger import: usage: flag provided but not defined: -nope")

	report := filepath.Join(dir, "report.json")
	code, stdout, stderr := cli("import", "applications", "../../testdata/batch/applications-gb18030.csv", "--report", report)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `^\.\./\.\./testdata/batch/applications-gb18030\.csv \(GB18030\): 10 rows, 7 imported, 0 already imported, 3 rejected
  line 5 320\*+1038: id_number: duplicate_in_file \(`, stdout)
	var rep struct {
		Imported int `json:"imported"`
	}
	data, err := os.ReadFile(report)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &rep))
	assert.Equal(t, 7, rep.Imported)

	code, stdout, stderr = cli("batch", "create", "--id", "B1", "--limit", "3")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "batch B1 created with 3 people\n", stdout)
	code, stdout, stderr = cli("batch", "list")
	require.Equal(t, 0, code, stderr)
	var list []struct {
		BatchID string `json:"batch_id"`
		Members int    `json:"members"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &list), stdout)
	require.Len(t, list, 1)
	assert.Equal(t, "B1", list[0].BatchID)
	assert.Equal(t, 3, list[0].Members)
	code, stdout, stderr = cli("batch", "review", "B1", "--reviewer", "ann")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "batch B1 is reviewed\n", stdout)

	code, _, stderr = cli("psam", "stock-in", "PSAM0001", "--warehouse", "W1", "--on", "2026-01-02")
	require.Equal(t, 0, code, stderr)
	code, stdout, stderr = cli("psam", "show", "PSAM0001")
	require.Equal(t, 0, code, stderr)
	var p struct {
		Serial    string `json:"serial"`
		Warehouse string `json:"warehouse"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &p), stdout)
	assert.Equal(t, "PSAM0001", p.Serial)
	assert.Equal(t, "W1", p.Warehouse)
}
