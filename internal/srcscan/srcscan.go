// Package srcscan hands guard tests the module's production Go files,
// parsed, so that every rule about the source (one write path, the edges,
// the problem-code table, the test double's importers) walks the same
// tree the same way. Test support only: nothing in a binary imports it.
package srcscan

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

// File is one parsed non-test Go file.
type File struct {
	Rel  string // slash-separated path from the module root
	Fset *token.FileSet
	AST  *ast.File
}

// minFiles is well below the module's count: a walk that finds fewer has
// missed the module and would prove nothing.
const minFiles = 100

// ProductionFiles parses every non-test .go file of the module, skipping
// hidden folders, testdata and vendor. It fails t when the module root is
// not found, a file does not parse, or the walk found too few files.
func ProductionFiles(t testing.TB) []File {
	t.Helper()
	root := ModuleRoot(t)
	var files []File
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "vendor") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files = append(files, File{Rel: filepath.ToSlash(rel), Fset: fset, AST: f})
		return nil
	})
	if err != nil {
		t.Fatalf("srcscan: %v", err)
	}
	if len(files) < minFiles {
		t.Fatalf("srcscan: only %d files under %s: the walk is not covering the module", len(files), root)
	}
	return files
}

// ModuleRoot is the folder holding go.mod, found upwards from the test's
// working directory (its package folder).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("srcscan: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("srcscan: no go.mod above the working directory")
		}
		dir = parent
	}
}
