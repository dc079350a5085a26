package esdbdouble

import (
	"strconv"
	"testing"

	"github.com/cardledger/cardledger/internal/srcscan"
)

const importPath = "github.com/cardledger/cardledger/eventstore/esdbstore/esdbdouble"

// TestOnlyTestsImportTheDouble keeps the double out of every binary: no
// non-test file of the module may import it, so no configuration can
// select it.
func TestOnlyTestsImportTheDouble(t *testing.T) {
	for _, f := range srcscan.ProductionFiles(t) {
		for _, imp := range f.AST.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == importPath {
				t.Errorf("%s imports the test double", f.Rel)
			}
		}
	}
}
