// Package files reads and writes the exchange files of the batch workflow:
// the CSV of bulk applications and the fixed-layout files that go to and
// come back from the bank and the card vendor (docs/batch-files.md).
//
// Invariants of the exchange files:
//   - UTF-8 without BOM, LF line ends, fields separated by '|'; no field
//     holds '|', CR or LF (the writer replaces them with a space).
//   - Line 1 is the header "H|CLB1|<kind>|<batch id>|<created on>|<lines>",
//     then one detail line per person "D|<seq>|...", seq counting from 1,
//     then the trailer "T|<lines>|<sha256>", where sha256 is the lower-case
//     hex SHA-256 of every detail line's bytes including its LF.
//   - Generation is deterministic: the same batch state gives the same bytes.
package files

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cardledger/cardledger/domain"
)

// Magic is the format tag of version 1 of the exchange files.
const Magic = "CLB1"

// Columns lists, per file kind, the detail fields after "D|seq".
var Columns = map[domain.BatchFileKind][]string{
	domain.FileBankOpen:         {"application_id", "id_number", "name", "sex", "birth_date", "nationality", "region_code", "bank_code"},
	domain.FileBankOpenReturn:   {"application_id", "id_number", "result", "account_no", "reason"},
	domain.FileProduction:       {"application_id", "card_no", "id_number", "name", "sex", "birth_date", "nationality", "region_code", "bank_code", "account_no", "photo_ref", "photo"},
	domain.FileProductionReturn: {"application_id", "card_no", "id_number", "result", "chip_id", "reason"},
	domain.FileBankData:         {"application_id", "card_no", "id_number", "name", "bank_code", "account_no", "chip_id"},
	domain.FileBankDataReturn:   {"application_id", "card_no", "id_number", "result", "reason"},
}

// Result codes in return files.
const (
	ResultOK     = "0"
	ResultFailed = "1"
)

// File is a parsed or to-be-written exchange file.
type File struct {
	Kind      domain.BatchFileKind
	BatchID   string
	CreatedOn string     // YYYY-MM-DD
	Records   [][]string // detail fields without "D" and seq, in Columns order
	// Set by Parse and Encode.
	SHA256     string // of the whole file
	BodySHA256 string // of the detail lines, as in the trailer
}

// Problem is one thing wrong with a file, by line (0 for the file as a whole).
type Problem struct {
	Line    int    `json:"line"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Problem codes of the framing checks.
const (
	CodeEncoding  = "bad_encoding"
	CodeHeader    = "bad_header"
	CodeLine      = "bad_line"
	CodeSeq       = "bad_sequence"
	CodeLineCount = "bad_line_count"
	CodeChecksum  = "bad_checksum"
	CodeTrailer   = "bad_trailer"
)

// FormatError is a file whose framing is wrong; nothing in it may be used.
// Kind and BatchID are what the header says, when it could be read.
type FormatError struct {
	Problems []Problem
	Kind     domain.BatchFileKind
	BatchID  string
}

func (e *FormatError) Error() string {
	if len(e.Problems) == 0 {
		return "malformed exchange file"
	}
	p := e.Problems[0]
	more := ""
	if len(e.Problems) > 1 {
		more = fmt.Sprintf(" (and %d more)", len(e.Problems)-1)
	}
	return fmt.Sprintf("malformed exchange file: line %d: %s: %s%s", p.Line, p.Code, p.Message, more)
}

// clean makes a value safe for a field.
func clean(v string) string {
	return strings.Map(func(r rune) rune {
		if r == '|' || r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, v)
}

// Encode writes f and sets its digests.
func (f *File) Encode() ([]byte, error) {
	cols, ok := Columns[f.Kind]
	if !ok {
		return nil, fmt.Errorf("encode: unknown file kind %q", f.Kind)
	}
	var body bytes.Buffer
	for i, rec := range f.Records {
		if len(rec) != len(cols) {
			return nil, fmt.Errorf("encode %s: record %d has %d fields, want %d", f.Kind, i+1, len(rec), len(cols))
		}
		body.WriteString("D|")
		body.WriteString(strconv.Itoa(i + 1))
		for _, v := range rec {
			body.WriteByte('|')
			body.WriteString(clean(v))
		}
		body.WriteByte('\n')
	}
	sum := sha256.Sum256(body.Bytes())
	f.BodySHA256 = hex.EncodeToString(sum[:])
	var out bytes.Buffer
	fmt.Fprintf(&out, "H|%s|%s|%s|%s|%d\n", Magic, f.Kind, clean(f.BatchID), f.CreatedOn, len(f.Records))
	out.Write(body.Bytes())
	fmt.Fprintf(&out, "T|%d|%s\n", len(f.Records), f.BodySHA256)
	whole := sha256.Sum256(out.Bytes())
	f.SHA256 = hex.EncodeToString(whole[:])
	return out.Bytes(), nil
}

// Parse reads an exchange file and checks its framing: header, field
// counts, sequence numbers, the trailer's line count and checksum. It
// reports every problem it finds, not just the first.
func Parse(data []byte) (*File, error) {
	var probs []Problem
	add := func(line int, code, format string, args ...any) {
		if len(probs) < 100 {
			probs = append(probs, Problem{Line: line, Code: code, Message: fmt.Sprintf(format, args...)})
		}
	}
	if !utf8.Valid(data) {
		return nil, &FormatError{Problems: []Problem{{0, CodeEncoding, "the file is not UTF-8"}}}
	}
	text := string(data)
	if !strings.HasSuffix(text, "\n") {
		return nil, &FormatError{Problems: []Problem{{0, CodeTrailer, "the file does not end with a line feed after the trailer (truncated?)"}}}
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 2 {
		return nil, &FormatError{Problems: []Problem{{0, CodeTrailer, "no header and trailer"}}}
	}
	h := strings.Split(lines[0], "|")
	f := &File{}
	var declared int
	if len(h) != 6 || h[0] != "H" || h[1] != Magic {
		return nil, &FormatError{Problems: []Problem{{1, CodeHeader, "want H|" + Magic + "|kind|batch|date|lines"}}}
	}
	f.Kind, f.BatchID, f.CreatedOn = domain.BatchFileKind(h[2]), h[3], h[4]
	cols, ok := Columns[f.Kind]
	if !ok {
		return nil, &FormatError{Problems: []Problem{{1, CodeHeader, "unknown file kind " + h[2]}}, BatchID: f.BatchID}
	}
	declared, err := strconv.Atoi(h[5])
	if err != nil {
		add(1, CodeHeader, "line count %q is not a number", h[5])
	}
	body := lines[1 : len(lines)-1]
	hash := sha256.New()
	for i, l := range body {
		n := i + 2
		hash.Write([]byte(l))
		hash.Write([]byte{'\n'})
		if strings.HasSuffix(l, "\r") {
			add(n, CodeLine, "CR before LF: lines must end with LF only")
			continue
		}
		fs := strings.Split(l, "|")
		if fs[0] != "D" || len(fs) != len(cols)+2 {
			add(n, CodeLine, "want D|seq and %d fields, got %d fields", len(cols), len(fs)-1)
			continue
		}
		if fs[1] != strconv.Itoa(i+1) {
			add(n, CodeSeq, "sequence %q, want %d", fs[1], i+1)
			continue
		}
		f.Records = append(f.Records, fs[2:])
	}
	t := strings.Split(lines[len(lines)-1], "|")
	f.BodySHA256 = hex.EncodeToString(hash.Sum(nil))
	switch {
	case len(t) != 3 || t[0] != "T":
		add(len(lines), CodeTrailer, "want T|lines|sha256 as the last line")
	default:
		if t[1] != strconv.Itoa(len(body)) || declared != len(body) {
			add(len(lines), CodeLineCount, "header says %d lines, trailer %s, file has %d", declared, t[1], len(body))
		}
		if t[2] != f.BodySHA256 {
			add(len(lines), CodeChecksum, "trailer checksum %s, detail lines hash to %s", t[2], f.BodySHA256)
		}
	}
	if len(probs) > 0 {
		return nil, &FormatError{Problems: probs, Kind: f.Kind, BatchID: f.BatchID}
	}
	whole := sha256.Sum256(data)
	f.SHA256 = hex.EncodeToString(whole[:])
	return f, nil
}
