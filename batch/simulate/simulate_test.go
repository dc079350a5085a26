package simulate

import (
	"bytes"
	"testing"

	"github.com/cardledger/cardledger/batch/files"
	"github.com/cardledger/cardledger/domain"
)

func bankOpenExport(n int) []byte {
	f := &files.File{Kind: domain.FileBankOpen, BatchID: "B1", CreatedOn: "2025-03-01"}
	for i := range n {
		app := "app" + string(rune('A'+i%26)) + string(rune('0'+i/26%10)) + string(rune('0'+i/260))
		f.Records = append(f.Records, []string{app, "110101199003070018", "N", "1", "19900307", "CHN", "110101", "ICBC"})
	}
	data, _ := f.Encode()
	return data
}

func TestBankReturnIsDeterministicAndFailsAboutTheRate(t *testing.T) {
	export := bankOpenExport(2000)
	a, err := Bank(export, Options{FailRate: 0.1, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Bank(export, Options{FailRate: 0.1, Seed: 7})
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different output")
	}
	c, _ := Bank(export, Options{FailRate: 0.1, Seed: 8})
	if bytes.Equal(a, c) {
		t.Fatal("different seed, same output")
	}
	f, err := files.Parse(a)
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, r := range f.Records {
		if r[2] == files.ResultFailed {
			failed++
		} else if len(r[3]) != 19 {
			t.Fatalf("account %q", r[3])
		}
	}
	if failed < 140 || failed > 260 {
		t.Fatalf("%d of 2000 failed at rate 0.1", failed)
	}
}

func TestVendorRefusesABankFile(t *testing.T) {
	if _, err := Vendor(bankOpenExport(1), Options{}); err == nil {
		t.Fatal("vendor answered a bank file")
	}
}
