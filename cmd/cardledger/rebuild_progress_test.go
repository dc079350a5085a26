package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/projections"
)

// Off a terminal, a rebuild's progress is plain lines (at most one per ten
// seconds), never a bar's carriage returns.
func TestRebuildProgressOffATerminalIsLines(t *testing.T) {
	var errOut bytes.Buffer
	env := &environment{stderr: &errOut, isTerminal: false}
	progress, done := rebuildProgress(env, "readmodel")
	progress(projections.RebuildProgress{Events: 5000, Position: eventstore.Position{Commit: 10, Prepare: 3}, Elapsed: 2 * time.Second})
	progress(projections.RebuildProgress{Events: 10000, Position: eventstore.Position{Commit: 20, Prepare: 3}, Elapsed: 3 * time.Second})
	done()
	assert.Equal(t, "rebuild readmodel: 5000 events loaded, at position "+eventstore.Position{Commit: 10, Prepare: 3}.String()+", 2s\n", errOut.String())
}
