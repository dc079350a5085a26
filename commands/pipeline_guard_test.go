package commands_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not at %s: %v", root, err)
	}
	scanned, found := 0, 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "vendor") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return nil // someone else's file mid-edit; not ours to judge
		}
		scanned++
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || !isStoreAppend(call) {
				return true
			}
			found++
			if !allowedAppender(rel) {
				t.Errorf("%s: appends to the event store directly; write through commands.Pipeline "+
					"(or, for a stream that is no aggregate's, list it in directAppenders and commands/doc.go)", fset.Position(call.Pos()))
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned < 10 || found < 3 {
		t.Fatalf("scanned %d files and found %d appends under %s: the scan is not covering the module", scanned, found, root)
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
