package problemcodes

import (
	"fmt"
	"strings"
)

// Markdown is docs/errors.md: the table as two Markdown tables, problem
// codes and the codes inside a response body.
func Markdown() string {
	var b strings.Builder
	b.WriteString(`# Error codes

<!-- Generated from internal/problemcodes (Table); edit it there and run
     go test ./internal/problemcodes -run TestDocsAreUpToDate -update -->

Every error response is ` + "`application/problem+json`" + ` with a stable ` + "`code`" + `
(and ` + "`errors[]`" + `, per field, naming what is wrong with each input). Clients
branch on codes, never on ` + "`title`" + ` or ` + "`detail`" + `. Each code has one meaning
wherever it appears, and a meaning has one code: a missing cardholder is
` + "`cardholder_not_found`" + ` and a missing card ` + "`card_not_found`" + `, on the write side
and the read side alike.

## Problem codes

| Code | Status | Meaning | Defined in |
|---|---|---|---|
`)
	for _, c := range Table {
		if c.Status != 0 {
			fmt.Fprintf(&b, "| `%s` | %d | %s | %s |\n", c.Code, c.Status, escape(c.Meaning), c.Package)
		}
	}
	b.WriteString(`
## Codes inside a response body

In ` + "`errors[].code`" + ` (a field, a file line, a usage record), an import row's
problems and a batch job member's failure. Domain refusals of a job's item
keep the codes above.

| Code | Meaning | Defined in |
|---|---|---|
`)
	for _, c := range Table {
		if c.Status == 0 {
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", c.Code, escape(c.Meaning), c.Package)
		}
	}
	return b.String()
}

func escape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
