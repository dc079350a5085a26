package files

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/cardledger/cardledger/domain"
)

// Encodings an application CSV may come in.
const (
	EncodingUTF8    = "UTF-8"
	EncodingGB18030 = "GB18030"
)

// ApplicationRow is one data row of an application CSV, trimmed but not
// validated (that is the domain's job).
type ApplicationRow struct {
	Line          int // 1-based line of the row in the file (the header is line 1)
	IDNumber      string
	Name          string
	Sex           domain.Sex // "" when the column is empty: derived from the ID number
	SexRaw        string     // the cell as written, when it is not a known sex
	Nationality   string
	RegionCode    string
	Phone         string
	EmployerCode  string
	CommunityCode string
	BankCode      string
	PhotoRef      string
}

// columnAliases maps every accepted header (English or the Chinese used in
// government spreadsheets) to a field.
var columnAliases = map[string]string{
	"id_number": "id_number", "身份证号码": "id_number", "公民身份号码": "id_number", "身份证号": "id_number",
	"name": "name", "姓名": "name",
	"sex": "sex", "性别": "sex",
	"nationality": "nationality", "国籍": "nationality",
	"region_code": "region_code", "行政区划代码": "region_code", "区划代码": "region_code", "所属区县": "region_code",
	"phone": "phone", "手机号码": "phone", "联系电话": "phone",
	"employer_code": "employer_code", "单位编号": "employer_code", "单位编码": "employer_code",
	"community_code": "community_code", "社区编号": "community_code", "社区编码": "community_code",
	"bank_code": "bank_code", "银行编码": "bank_code", "开户银行": "bank_code",
	"photo_ref": "photo_ref", "照片编号": "photo_ref", "照片": "photo_ref",
}

var requiredColumns = []string{"id_number", "name", "region_code", "bank_code"}

// DecodeText returns data as UTF-8 and the encoding it was in: UTF-8 (with
// or without BOM) when the bytes are valid UTF-8, else GB18030. Valid
// GB18030 text of Chinese characters is almost never valid UTF-8, so the
// check is reliable for real spreadsheets.
func DecodeText(data []byte) (string, string, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if utf8.Valid(data) {
		return string(data), EncodingUTF8, nil
	}
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
	if err != nil {
		return "", "", fmt.Errorf("decode GB18030: %w", err)
	}
	text := string(out)
	// The decoder replaces bytes it cannot read with U+FFFD; a ledger refuses
	// such a file rather than store a replacement in a person's record. A
	// real U+FFFD in the file survives the round trip, a replaced byte not.
	if i := strings.IndexRune(text, utf8.RuneError); i >= 0 {
		if back, err := simplifiedchinese.GB18030.NewEncoder().Bytes(out); err != nil || !bytes.Equal(back, data) {
			return "", "", fmt.Errorf("%w: line %d holds bytes that are neither UTF-8 nor GB18030",
				ErrUndecodable, 1+strings.Count(text[:i], "\n"))
		}
	}
	return text, EncodingGB18030, nil
}

// ErrUndecodable: the file is neither valid UTF-8 nor valid GB18030.
var ErrUndecodable = errors.New("application CSV: not UTF-8 or GB18030 text")

// ErrNoHeader: the CSV lacks a header row naming the required columns.
var ErrNoHeader = errors.New("application CSV: header row missing required columns")

// ParseApplications reads an application CSV (UTF-8 or GB18030, comma
// separated, header row first). It fails only when the file as a whole is
// unusable; row-level problems are left to validation.
func ParseApplications(data []byte) (rows []ApplicationRow, encoding string, err error) {
	text, encoding, err := DecodeText(data)
	if err != nil {
		return nil, "", err
	}
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return nil, encoding, fmt.Errorf("application CSV header: %w", err)
	}
	idx := map[string]int{}
	for i, h := range header {
		if f, ok := columnAliases[strings.ToLower(strings.TrimSpace(h))]; ok {
			idx[f] = i
		}
	}
	var missing []string
	for _, c := range requiredColumns {
		if _, ok := idx[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, encoding, fmt.Errorf("%w: %s", ErrNoHeader, strings.Join(missing, ", "))
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, encoding, fmt.Errorf("application CSV: %w", err)
		}
		line, _ := r.FieldPos(0)
		get := func(f string) string {
			i, ok := idx[f]
			if !ok || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		if strings.Join(rec, "") == "" {
			continue // blank line
		}
		row := ApplicationRow{
			Line:          line,
			IDNumber:      domain.NormalizeIDNumber(get("id_number")),
			Name:          get("name"),
			Nationality:   strings.ToUpper(get("nationality")),
			RegionCode:    get("region_code"),
			Phone:         get("phone"),
			EmployerCode:  get("employer_code"),
			CommunityCode: get("community_code"),
			BankCode:      get("bank_code"),
			PhotoRef:      get("photo_ref"),
		}
		if row.Nationality == "" {
			row.Nationality = "CHN"
		}
		switch s := strings.ToLower(get("sex")); s {
		case "":
		case "男", "1", "m", "male":
			row.Sex = domain.Male
		case "女", "2", "f", "female":
			row.Sex = domain.Female
		default:
			row.Sex, row.SexRaw = domain.Sex(s), s
		}
		rows = append(rows, row)
	}
	return rows, encoding, nil
}

// ApplicationHeader is the header WriteApplications uses.
var ApplicationHeader = []string{"身份证号码", "姓名", "性别", "国籍", "行政区划代码", "手机号码", "单位编号", "社区编号", "银行编码", "照片编号"}

// WriteApplications writes rows as an application CSV in the given
// encoding; generators and tests use it.
func WriteApplications(w io.Writer, rows []ApplicationRow, encoding string) error {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.Write(ApplicationHeader)
	for _, r := range rows {
		sex := ""
		switch r.Sex {
		case domain.Male:
			sex = "男"
		case domain.Female:
			sex = "女"
		}
		_ = cw.Write([]string{r.IDNumber, r.Name, sex, r.Nationality, r.RegionCode, r.Phone, r.EmployerCode, r.CommunityCode, r.BankCode, r.PhotoRef})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	data := buf.Bytes()
	if encoding == EncodingGB18030 {
		var err error
		if data, err = simplifiedchinese.GB18030.NewEncoder().Bytes(data); err != nil {
			return fmt.Errorf("encode GB18030: %w", err)
		}
	}
	_, err := w.Write(data)
	return err
}
