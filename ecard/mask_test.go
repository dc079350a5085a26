package ecard

import "testing"

func TestMasks(t *testing.T) {
	for in, want := range map[string]string{"张三": "张*", "张三丰": "张**", "欧阳娜娜": "欧***", "李": "李", "": "", "Ann Lee": "A******"} {
		if got := MaskName(in); got != want {
			t.Errorf("MaskName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"11010519491231002X": "110105********002X", "1234567890": "**********", "12345678901": "123456*8901", "": ""} {
		if got := MaskIDNumber(in); got != want {
			t.Errorf("MaskIDNumber(%q) = %q, want %q", in, got, want)
		}
	}
}
