package domain

import "testing"

func TestMaskName(t *testing.T) {
	for in, want := range map[string]string{"张三": "张*", "欧阳娜娜": "欧***", "张": "*", "": ""} {
		if got := MaskName(in); got != want {
			t.Errorf("MaskName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMaskIDNumber(t *testing.T) {
	for in, want := range map[string]string{
		"11010519491231002X": "110***********002X",
		"12345678":           "123*5678",
		"1234567":            "*******",
		"":                   "",
	} {
		if got := MaskIDNumber(in); got != want {
			t.Errorf("MaskIDNumber(%q) = %q, want %q", in, got, want)
		}
	}
}
