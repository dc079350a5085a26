package commands_test

import (
	"go/ast"
	"strings"
	"testing"

	"github.com/cardledger/cardledger/internal/srcscan"
)

// directAppenders are the only non-test files that may append to an event
// store themselves; everything else writes through commands.Pipeline (see
// the package doc). A path ending in "/" covers a directory.
var directAppenders = []string{
	"commands/pipeline.go",        // the pipeline
	"commands/pipeline_create.go", // the pipeline's new streams (Create, CreateMany)
	"commands/cardnumbers.go",     // card-number reservations: uniqueness claims, no aggregate
	"analytics/ingest.go",         // usage records: ids from the record id, appended in size-bounded runs
	"audit/store.go",              // the audit digest stream
	"eventstore/",                 // the stores, their wrappers and copy tools
	// Developer tools: synthetic histories for rebuild benchmarks and raw
	// append baselines, never run by the service.
	"internal/devtools/",
}

// TestOnlyThePipelineAppends keeps "one write path" true: a call of
// Append(ctx, stream, expected, events) or AppendMany(ctx, appends) outside
// directAppenders fails. The calls are recognised by shape (a context
// first, the event store's arity), which tells them from ClickHouse's
// batch Append.
func TestOnlyThePipelineAppends(t *testing.T) {
	found := 0
	for _, f := range srcscan.ProductionFiles(t) {
		ast.Inspect(f.AST, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || !isStoreAppend(call) {
				return true
			}
			found++
			if !allowedAppender(f.Rel) {
				t.Errorf("%s: appends to the event store directly; write through commands.Pipeline "+
					"(or, for a stream that is no aggregate's, list it in directAppenders and commands/doc.go)", f.Fset.Position(call.Pos()))
			}
			return true
		})
	}
	if found < 3 {
		t.Fatalf("found %d appends: the scan does not recognise the store's calls", found)
	}
}

func isStoreAppend(call *ast.CallExpr) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || len(call.Args) == 0 || !isContext(call.Args[0]) {
		return false
	}
	return sel.Sel.Name == "Append" && len(call.Args) == 4 || sel.Sel.Name == "AppendMany" && len(call.Args) == 2
}

// isContext recognises ctx, someCtx and context.Background() style arguments.
func isContext(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == "ctx" || strings.HasSuffix(e.Name, "Ctx")
	case *ast.CallExpr:
		if sel, ok := e.Fun.(*ast.SelectorExpr); ok {
			if pkg, ok := sel.X.(*ast.Ident); ok {
				return pkg.Name == "context"
			}
		}
	}
	return false
}

func allowedAppender(rel string) bool {
	for _, a := range directAppenders {
		if rel == a || strings.HasSuffix(a, "/") && strings.HasPrefix(rel, a) {
			return true
		}
	}
	return false
}
