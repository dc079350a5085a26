package files

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/cardledger/cardledger/domain"
)

// Legacy card files (一代卡迁移, docs/migration.md): one record per line,
// comma separated, header row first, UTF-8 or GB18030. Unlike an
// application CSV, a line that is not text in the file's encoding does not
// sink the file: it becomes a LegacyLineError and the other lines go on.

// LegacyCardRow is one data row of a legacy card file, trimmed and with
// dates and statuses mapped to the ledger's forms where they are known
// (anything else is kept as written, for the domain to refuse by field).
type LegacyCardRow struct {
	Line       int // 1-based physical line (the header is line 1)
	CardNo     string
	Name       string
	IDNumber   string
	IssueDate  string // YYYY-MM-DD when written in a known form
	Status     domain.CardStatus
	Agency     string
	RegionCode string // "" when the file has no region column
}

// LegacyLineError is a line that could not be read as a row at all.
type LegacyLineError struct {
	Line    int
	Field   string // "encoding" or "line"
	Message string
}

// LegacyFile is a parsed legacy card file.
type LegacyFile struct {
	Encoding string
	// DataLines counts the non-blank lines after the header: every one is
	// either in Rows or in Bad.
	DataLines int
	Rows      []LegacyCardRow
	Bad       []LegacyLineError
}

// ErrLegacyHeader: the first line does not name the required columns.
var ErrLegacyHeader = errors.New("legacy card file: header row missing required columns")

var legacyColumns = map[string]string{
	"card_no": "card_no", "卡号": "card_no", "社保卡号": "card_no", "一代卡号": "card_no",
	"name": "name", "姓名": "name",
	"id_number": "id_number", "身份证号码": "id_number", "身份证号": "id_number", "公民身份号码": "id_number",
	"issue_date": "issue_date", "发卡日期": "issue_date", "发卡时间": "issue_date",
	"status": "status", "卡状态": "status", "状态": "status",
	"agency": "agency", "发卡机构": "agency", "经办机构": "agency",
	"region_code": "region_code", "行政区划代码": "region_code",
}

var legacyRequired = []string{"card_no", "name", "id_number", "issue_date", "status"}

// legacyStatuses maps the statuses old systems wrote to the ledger's.
var legacyStatuses = map[string]domain.CardStatus{
	"正常": domain.StatusActive, "有效": domain.StatusActive, "启用": domain.StatusActive, "active": domain.StatusActive,
	"挂失": domain.StatusLost, "正式挂失": domain.StatusLost, "lost": domain.StatusLost,
	"临时挂失": domain.StatusTemporarilyLost, "temporarily_lost": domain.StatusTemporarilyLost,
	"注销": domain.StatusCancelled, "作废": domain.StatusCancelled, "cancelled": domain.StatusCancelled,
}

// LegacyStatusNames lists the accepted status words, for docs and errors.
func LegacyStatusNames() map[string]domain.CardStatus { return legacyStatuses }

// ParseLegacyCards reads a legacy card file. It fails only when the header
// is unusable; every other problem is a LegacyLineError or left to the
// domain's validation of the row.
func ParseLegacyCards(data []byte) (LegacyFile, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	raw := bytes.Split(data, []byte("\n"))
	for i, l := range raw {
		raw[i] = bytes.TrimSuffix(l, []byte("\r"))
	}
	out := LegacyFile{Encoding: legacyEncoding(raw)}
	if len(raw) == 0 || len(bytes.TrimSpace(raw[0])) == 0 {
		return out, fmt.Errorf("%w: the file is empty", ErrLegacyHeader)
	}
	headerText, ok := decodeLine(raw[0], out.Encoding)
	if !ok {
		return out, fmt.Errorf("%w: line 1 is not %s text", ErrLegacyHeader, out.Encoding)
	}
	header, err := csv.NewReader(strings.NewReader(headerText)).Read()
	if err != nil {
		return out, fmt.Errorf("%w: %v", ErrLegacyHeader, err)
	}
	idx := map[string]int{}
	for i, h := range header {
		if f, ok := legacyColumns[strings.ToLower(strings.TrimSpace(h))]; ok {
			idx[f] = i
		}
	}
	var missing []string
	for _, c := range legacyRequired {
		if _, ok := idx[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return out, fmt.Errorf("%w: %s", ErrLegacyHeader, strings.Join(missing, ", "))
	}
	for i, l := range raw[1:] {
		line := i + 2
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		out.DataLines++
		text, ok := decodeLine(l, out.Encoding)
		if !ok {
			out.Bad = append(out.Bad, LegacyLineError{Line: line, Field: "encoding",
				Message: fmt.Sprintf("line %d is not %s text", line, out.Encoding)})
			continue
		}
		r := csv.NewReader(strings.NewReader(text))
		r.FieldsPerRecord = -1
		rec, err := r.Read()
		if err != nil {
			out.Bad = append(out.Bad, LegacyLineError{Line: line, Field: "line", Message: fmt.Sprintf("line %d: %v", line, err)})
			continue
		}
		get := func(f string) string {
			i, ok := idx[f]
			if !ok || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		status := get("status")
		st, known := legacyStatuses[strings.ToLower(status)]
		if !known {
			st = domain.CardStatus(status)
		}
		out.Rows = append(out.Rows, LegacyCardRow{
			Line: line, CardNo: strings.ToUpper(get("card_no")), Name: get("name"),
			IDNumber: domain.NormalizeIDNumber(get("id_number")), IssueDate: legacyDate(get("issue_date")),
			Status: st, Agency: get("agency"), RegionCode: get("region_code"),
		})
	}
	return out, nil
}

// legacyEncoding decides the file's encoding strictly, from the lines that
// are not plain ASCII: UTF-8 when at least as many of them are valid UTF-8
// as are GB18030 only, else GB18030. A file is one encoding; lines that are
// not text in it are reported, never guessed line by line.
func legacyEncoding(lines [][]byte) string {
	utf, gb := 0, 0
	for _, l := range lines {
		if isASCII(l) {
			continue
		}
		if utf8.Valid(l) {
			utf++
		} else if _, ok := decodeLine(l, EncodingGB18030); ok {
			gb++
		}
	}
	if gb > utf {
		return EncodingGB18030
	}
	return EncodingUTF8
}

// decodeLine returns a line as UTF-8 if it is text in enc. A GB18030 line
// must survive the round trip: the decoder's replacement of a byte it
// cannot read must not end up in a person's record.
func decodeLine(l []byte, enc string) (string, bool) {
	if enc == EncodingUTF8 || isASCII(l) {
		return string(l), utf8.Valid(l)
	}
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(l)
	if err != nil {
		return "", false
	}
	if bytes.ContainsRune(out, utf8.RuneError) {
		if back, err := simplifiedchinese.GB18030.NewEncoder().Bytes(out); err != nil || !bytes.Equal(back, l) {
			return "", false
		}
	}
	return string(out), true
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// legacyDate writes 2009-05-04, 2009/5/4, 2009.05.04 and 20090504 as
// YYYY-MM-DD without judging the date (2009-02-30 stays impossible, for the
// domain to refuse); anything else is returned as written.
func legacyDate(s string) string {
	if len(s) == 8 && allASCIIDigits(s) {
		return s[:4] + "-" + s[4:6] + "-" + s[6:]
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '/' || r == '.' })
	if len(parts) != 3 || len(parts[0]) != 4 || len(parts[1]) > 2 || len(parts[2]) > 2 {
		return s
	}
	for _, p := range parts {
		if p == "" || !allASCIIDigits(p) {
			return s
		}
	}
	return fmt.Sprintf("%s-%02s-%02s", parts[0], parts[1], parts[2])
}

func allASCIIDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
