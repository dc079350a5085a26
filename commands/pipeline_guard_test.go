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
	// The event store's own baseline (`cardledger bench store`): appends
	// of events encoded by EncodeEvents, timed without the pipeline.
	"internal/devtools/loadgen/loadgen.go",
}

// envelopeBuilders are the only non-test files that may build an event's
// envelope (domain.Metadata, eventstore.EventData) themselves: the one
// envelope (EncodeEvents, EncodeEvent, metadataFor) and the stores, which
// read events back and seal or copy them. Every other writer hands its
// events to Pipeline or to EncodeEvents/EncodeEvent, so ids, schema
// versions, occurred_at, actor, correlation and causation are written one
// way.
var envelopeBuilders = []string{
	"commands/",
	"eventstore/",
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
			if !listed(directAppenders, f.Rel) {
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

// TestOnlyCommandsBuildsEnvelopes keeps the envelope in one place: a
// composite literal of domain.Metadata or eventstore.EventData, or a call
// of domain.EncodeMetadata, outside envelopeBuilders fails.
func TestOnlyCommandsBuildsEnvelopes(t *testing.T) {
	found := 0
	for _, f := range srcscan.ProductionFiles(t) {
		for _, n := range envelopesBuilt(f.AST) {
			found++
			if !listed(envelopeBuilders, f.Rel) {
				t.Errorf("%s: builds an event envelope; encode events with commands.EncodeEvents or "+
					"commands.EncodeEvent (or write through commands.Pipeline)", f.Fset.Position(n.Pos()))
			}
		}
	}
	if found < 3 {
		t.Fatalf("found %d envelopes built: the scan does not recognise them", found)
	}
}

// envelopesBuilt returns the places in f that build an envelope: literals
// of domain.Metadata or eventstore.EventData (Metadata, EventData inside
// their own packages), elements of an []eventstore.EventData literal that
// leave the type out, and calls of EncodeMetadata. Zero values (returned
// beside an error) are no envelope.
func envelopesBuilt(f *ast.File) []ast.Node {
	own := f.Name.Name
	named := func(e ast.Expr, pkg, name string) bool {
		switch e := e.(type) {
		case *ast.Ident:
			return own == pkg && e.Name == name
		case *ast.SelectorExpr:
			x, ok := e.X.(*ast.Ident)
			return ok && x.Name == pkg && e.Sel.Name == name
		}
		return false
	}
	envelope := func(e ast.Expr) bool {
		return named(e, "domain", "Metadata") || named(e, "eventstore", "EventData")
	}
	var found []ast.Node
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CompositeLit:
			if envelope(n.Type) && len(n.Elts) > 0 { // a zero value builds nothing
				found = append(found, n)
			}
			if arr, ok := n.Type.(*ast.ArrayType); ok && envelope(arr.Elt) {
				for _, el := range n.Elts {
					if lit, ok := el.(*ast.CompositeLit); ok && lit.Type == nil {
						found = append(found, lit)
					}
				}
			}
		case *ast.CallExpr:
			if named(n.Fun, "domain", "EncodeMetadata") {
				found = append(found, n)
			}
		}
		return true
	})
	return found
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

// listed reports whether rel is one of paths or under one ending in "/".
func listed(paths []string, rel string) bool {
	for _, a := range paths {
		if rel == a || strings.HasSuffix(a, "/") && strings.HasPrefix(rel, a) {
			return true
		}
	}
	return false
}
