package problemcodes

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/errors.md from the table")

const docsPath = "../../docs/errors.md"

// TestTableHasOneEntryPerCode: a code listed twice would have two meanings
// (or two statuses).
func TestTableHasOneEntryPerCode(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Table {
		if seen[c.Code] {
			t.Errorf("%s is listed twice", c.Code)
		}
		seen[c.Code] = true
		if c.Code == "" || c.Meaning == "" || c.Package == "" {
			t.Errorf("incomplete entry %+v", c)
		}
	}
}

// TestEveryCodeIsInTheTable: every code production code answers with (see
// scanCodes) is in the table, with the table's status; and every entry is
// still answered somewhere.
func TestEveryCodeIsInTheTable(t *testing.T) {
	byCode := map[string]Code{}
	for _, c := range Table {
		byCode[c.Code] = c
	}
	used := map[string]bool{}
	for _, u := range scanCodes(t) {
		used[u.code] = true
		c, ok := byCode[u.code]
		switch {
		case !ok:
			t.Errorf("%s: code %q is not in problemcodes.Table (nor docs/errors.md)", u.where, u.code)
		case u.status != 0 && u.status != c.Status:
			t.Errorf("%s: code %q is answered with status %d, the table says %d", u.where, u.code, u.status, c.Status)
		}
	}
	for _, c := range Table {
		if !used[c.Code] {
			t.Errorf("table entry %q is answered nowhere: delete it", c.Code)
		}
	}
}

// TestDocsAreUpToDate: docs/errors.md is Markdown() of the table.
func TestDocsAreUpToDate(t *testing.T) {
	want := Markdown()
	if *update {
		if err := os.WriteFile(docsPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("%s is out of date: go test ./internal/problemcodes -run TestDocsAreUpToDate -update", docsPath)
	}
	for _, c := range Table {
		if !strings.Contains(string(got), fmt.Sprintf("| `%s` |", c.Code)) {
			t.Errorf("%s does not document %s", docsPath, c.Code)
		}
	}
}
