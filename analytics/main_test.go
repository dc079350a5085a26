package analytics_test

import (
	"os"
	"testing"

	"github.com/cardledger/cardledger/analytics/chtest"
)

func TestMain(m *testing.M) { os.Exit(chtest.Main(m)) }
