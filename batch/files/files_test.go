package files

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/cardledger/cardledger/domain"
)

func sampleReturn() *File {
	return &File{Kind: domain.FileBankOpenReturn, BatchID: "B1", CreatedOn: "2025-03-01", Records: [][]string{
		{"app1", "110101199003070018", ResultOK, "6210000000000000001", ""},
		{"app2", "110101199003070026", ResultFailed, "", "身份信息核验不通过"},
	}}
}

func TestEncodeThenParseGivesTheSameFile(t *testing.T) {
	f := sampleReturn()
	data, err := f.Encode()
	if err != nil {
		t.Fatal(err)
	}
	again, _ := sampleReturn().Encode()
	if !bytes.Equal(data, again) {
		t.Fatal("encoding is not deterministic")
	}
	if !strings.HasPrefix(string(data), "H|CLB1|bank_open_return|B1|2025-03-01|2\nD|1|app1|") {
		t.Fatalf("unexpected start:\n%s", data)
	}
	got, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != f.Kind || got.BatchID != "B1" || len(got.Records) != 2 || got.Records[1][4] != "身份信息核验不通过" || got.SHA256 != f.SHA256 {
		t.Fatalf("parsed %+v", got)
	}
}

func TestParseRejectsBrokenFraming(t *testing.T) {
	good, _ := sampleReturn().Encode()
	tests := []struct {
		name string
		edit func(s string) string
		code string
	}{
		{"edited detail line", func(s string) string { return strings.Replace(s, "6210000000000000001", "6210000000000000009", 1) }, CodeChecksum},
		{"dropped line", func(s string) string {
			return strings.Replace(s, "D|2|app2|110101199003070026|1||身份信息核验不通过\n", "", 1)
		}, CodeLineCount},
		{"truncated", func(s string) string { return s[:len(s)-10] }, CodeTrailer},
		{"CRLF", func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }, CodeLine},
		{"missing field", func(s string) string { return strings.Replace(s, "|1||", "|1|", 1) }, CodeLine},
		{"wrong magic", func(s string) string { return strings.Replace(s, "CLB1", "CLB9", 1) }, CodeHeader},
		{"resequenced", func(s string) string { return strings.Replace(s, "D|2|", "D|3|", 1) }, CodeSeq},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.edit(string(good))))
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a FormatError", err)
			}
			for _, p := range fe.Problems {
				if p.Code == tt.code {
					return
				}
			}
			t.Fatalf("problems %+v, want one with code %s", fe.Problems, tt.code)
		})
	}
}

func TestApplicationsInGB18030AndUTF8ReadTheSame(t *testing.T) {
	rows := []ApplicationRow{
		{IDNumber: "110101199003070018", Name: "张三", Sex: domain.Male, Nationality: "CHN", RegionCode: "110101", BankCode: "ICBC", PhotoRef: "p1"},
		{IDNumber: "11010119900307002x", Name: "李四, 小", Nationality: "CHN", RegionCode: "110101", BankCode: "ICBC"},
	}
	for _, enc := range []string{EncodingUTF8, EncodingGB18030} {
		var buf bytes.Buffer
		if err := WriteApplications(&buf, rows, enc); err != nil {
			t.Fatal(err)
		}
		got, gotEnc, err := ParseApplications(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if gotEnc != enc || len(got) != 2 || got[0].Name != "张三" || got[0].Sex != domain.Male || got[1].Name != "李四, 小" ||
			got[1].IDNumber != "11010119900307002X" || got[1].Line != 3 {
			t.Fatalf("%s: got %s %+v", enc, gotEnc, got)
		}
	}
}

func TestApplicationsNeedTheRequiredColumns(t *testing.T) {
	_, _, err := ParseApplications([]byte("姓名,性别\n张三,男\n"))
	if !errors.Is(err, ErrNoHeader) {
		t.Fatalf("err = %v", err)
	}
}

// A file that is neither UTF-8 nor GB18030 is refused with the line of the
// first unreadable bytes; the GB18030 decoder alone would have stored U+FFFD
// in a person's name. A real U+FFFD written in GB18030 is kept.
func TestApplicationsRefuseBytesNeitherUTF8NorGB18030(t *testing.T) {
	var buf bytes.Buffer
	rows := []ApplicationRow{
		{IDNumber: "110101199003070018", Name: "张三", Nationality: "CHN", RegionCode: "110101", BankCode: "ICBC"},
		{IDNumber: "11010119900307002X", Name: "李四", Nationality: "CHN", RegionCode: "110101", BankCode: "ICBC"},
	}
	if err := WriteApplications(&buf, rows, EncodingGB18030); err != nil {
		t.Fatal(err)
	}
	broken := bytes.Replace(buf.Bytes(), []byte("110101199003070018"), []byte("11010119900307\xff\xff18"), 1)
	_, _, err := ParseApplications(broken)
	if !errors.Is(err, ErrUndecodable) || !strings.Contains(err.Error(), "line 2 ") {
		t.Fatalf("err = %v, want ErrUndecodable naming line 2", err)
	}

	rows[1].Name = "李\uFFFD"
	buf.Reset()
	if err := WriteApplications(&buf, rows, EncodingGB18030); err != nil {
		t.Fatal(err)
	}
	got, enc, err := ParseApplications(buf.Bytes())
	if err != nil || enc != EncodingGB18030 || got[1].Name != "李\uFFFD" {
		t.Fatalf("got %s %+v, %v", enc, got, err)
	}
}
