package main

import "testing"

func TestMasking(t *testing.T) {
	names := map[string]string{"张三": "张*", "欧阳娜娜": "欧***", "李": "*", "": "*"}
	for in, want := range names {
		if got := maskName(in); got != want {
			t.Errorf("maskName(%q) = %q, want %q", in, got, want)
		}
	}
	ids := map[string]string{
		"110105199003072311": "110***********2311",
		"44030420001231004X": "440***********004X",
		"1234":               "****",
	}
	for in, want := range ids {
		if got := maskIDNumber(in); got != want {
			t.Errorf("maskIDNumber(%q) = %q, want %q", in, got, want)
		}
	}
}
