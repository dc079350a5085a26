package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/testpg"
)

// TestImportLegacyCardsCommandLine runs `cardledger import legacy-cards` on
// the sample: the reconciled summary, one line per refused row naming line
// and field, log-line progress off a terminal, and a second run that
// imports nothing.
func TestImportLegacyCardsCommandLine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": testpg.NewDatabase(t), "USER": "tester"}
	cli := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		env := &environment{stdout: &out, stderr: &errOut, getenv: func(k string) string { return vars[k] }}
		return run(ctx, env, args), out.String(), errOut.String()
	}
	const sample = "../../testdata/legacy/legacy_cards_sample.csv"
	code, stdout, stderr := cli("import", "legacy-cards", sample)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, sample+" (UTF-8): 12 lines, 4 imported, 8 refused (1 duplicate, 2 conflict, 5 invalid); imported = lines - refused: true\n")
	assert.Contains(t, stdout, "  line 6 invalid L00000005: issue_date: invalid_value (")
	assert.Contains(t, stdout, "  line 7 invalid L00000006: status: invalid_value (")
	assert.Contains(t, stdout, "  line 8 conflict L00000001: card_no: card_number_taken (")
	assert.Contains(t, stdout, "  line 13 invalid: encoding: undecodable_line (line 13 is not UTF-8 text)\n")
	assert.Contains(t, stderr, "import: legacy cards finished")
	assert.NotContains(t, stdout, "320505197001020114", "the summary names no ID number")

	code, stdout, stderr = cli("import", "legacy-cards", sample)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "12 lines, 0 imported, 12 refused (5 duplicate, 2 conflict, 5 invalid); imported = lines - refused: true\n")

	code, _, stderr = cli("import", "legacy-cards")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "cardledger import legacy-cards FILE")
}
