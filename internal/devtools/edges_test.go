package devtools

import (
	"go/ast"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cardledger/cardledger/internal/srcscan"
)

// pendingCLIs still parse their own flags outside cmd/; each entry names the
// work that moves it (and is deleted with it).
var pendingCLIs = map[string]string{}

// TestEdges keeps the module's edges where the README's layout puts them.
// In every non-test file:
//   - only cmd/ and internal/devtools import internal/devtools (developer
//     tools never reach a production binary's request path);
//   - only cmd/ draws progress bars (the rest reports progress to a
//     callback);
//   - only cmd/ and internal/config use package flag: command lines live in
//     the cmd/ tree, and settings are parsed by internal/config;
//   - only cmd/ and internal/config read the environment, so every setting
//     is in internal/config's table (and the README's).
//
// Test-support packages (testpg, chtest, pcsctest, ...) may read the
// environment and flags: they only run under `go test`.
func TestEdges(t *testing.T) {
	for _, f := range srcscan.ProductionFiles(t) {
		for _, p := range edgeProblems(f.Rel, f.AST) {
			t.Errorf("%s: %s", f.Rel, p)
		}
	}
}

func edgeProblems(rel string, f *ast.File) []string {
	under := func(dir string) bool { return strings.HasPrefix(rel, dir+"/") }
	dir := filepath.Base(filepath.Dir(rel))
	testSupport := strings.HasPrefix(dir, "test") || strings.HasSuffix(dir, "test")
	cmd, devtools, config := under("cmd"), under("internal/devtools"), under("internal/config")
	var problems []string
	names := map[string]string{} // local name → import path, for os and flag
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		switch {
		case strings.HasPrefix(p, "github.com/cardledger/cardledger/internal/devtools") && !cmd && !devtools:
			problems = append(problems, "imports the developer tools "+p)
		case strings.HasPrefix(p, "github.com/schollz/progressbar") && !cmd:
			problems = append(problems, "draws a progress bar (take a progress callback; cmd/ draws)")
		case p == "flag" && !cmd && !config && !testSupport && pendingCLIs[rel] == "":
			problems = append(problems, "uses package flag: command lines belong in cmd/, settings in internal/config")
		}
		if p == "os" || p == "flag" {
			name := filepath.Base(p)
			if imp.Name != nil {
				name = imp.Name.Name
			}
			names[name] = p
		}
	}
	if cmd || config || testSupport {
		return problems
	}
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); ok && names[x.Name] == "os" {
			switch sel.Sel.Name {
			case "Getenv", "LookupEnv", "Environ":
				problems = append(problems, "reads the environment (os."+sel.Sel.Name+"): settings belong in internal/config")
			}
		}
		return true
	})
	return problems
}

// TestLayoutTableNamesEveryFolder keeps the README's layout table true:
// every top-level and second-level folder has its row (a package's
// testdata folder is named in the `*/testdata/` row).
func TestLayoutTableNamesEveryFolder(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "## Layout\n")
	if start < 0 {
		t.Fatal("README has no ## Layout section")
	}
	section := text[start+len("## Layout\n"):]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	rows := map[string]string{} // folder → its row
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "| `") {
			name := strings.TrimPrefix(line, "| `")
			rows[name[:strings.Index(name, "`")]] = line
		}
	}
	// Folders are what git tracks: build output and local state (bin/,
	// .state/, both ignored) are not part of the layout.
	out, err := exec.Command("git", "-C", "../..", "ls-files").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	seen := map[string]bool{}
	var folders []string
	for _, file := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.Split(file, "/")
		for depth := 1; depth <= 2 && depth < len(parts); depth++ {
			dir := strings.Join(parts[:depth], "/")
			if strings.HasPrefix(dir, ".git") || seen[dir] {
				continue
			}
			seen[dir] = true
			folders = append(folders, dir)
		}
	}
	sort.Strings(folders)
	named := 0
	for _, rel := range folders {
		if filepath.Base(rel) == "testdata" && strings.Contains(rel, "/") {
			if !strings.Contains(rows["*/testdata/"], "`"+filepath.Dir(rel)+"`") {
				t.Errorf("README layout: the `*/testdata/` row does not name %s", filepath.Dir(rel))
			}
			continue
		}
		if _, ok := rows[rel+"/"]; !ok {
			t.Errorf("README layout table has no row for `%s/`", rel)
		}
		named++
	}
	if named < 20 {
		t.Fatalf("checked only %d folders: the glob is not covering the module", named)
	}
}
