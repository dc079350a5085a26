package main

import (
	"os"
	"testing"

	"github.com/cardledger/cardledger/analytics/chtest"
)

// TestMain starts a private ClickHouse so the assembled service is tested
// with every module, analytics included.
func TestMain(m *testing.M) { os.Exit(chtest.Main(m)) }
