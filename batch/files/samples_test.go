package files

import (
	"os"
	"testing"

	"github.com/cardledger/cardledger/domain"
)

// The samples in testdata/batch are what integrators see in docs; they must
// stay valid files.
func TestSampleFilesParse(t *testing.T) {
	for _, name := range []string{"B20250301-01.bank_open.txt", "B20250301-01.bank_open_return.txt"} {
		data, err := os.ReadFile("../../testdata/batch/" + name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse(data)
		if err != nil || f.BatchID != "B20250301-01" || len(f.Records) != 8 {
			t.Fatalf("%s: %v %+v", name, err, f)
		}
	}
	data, err := os.ReadFile("../../testdata/batch/applications-gb18030.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, enc, err := ParseApplications(data)
	if err != nil || enc != EncodingGB18030 || len(rows) != 10 || rows[0].Name != "王芳" {
		t.Fatalf("%v %s %+v", err, enc, rows)
	}
	if domain.ValidateIDNumber(rows[8].IDNumber) == nil {
		t.Fatal("row 9 should carry a wrong check digit")
	}
}
