package ecard

import "strings"

// MaskName keeps a name's first character (the surname, or its first
// character for a compound one) and writes '*' for each of the others:
// 张三 → 张*, 欧阳娜娜 → 欧***.
func MaskName(name string) string {
	r := []rune(name)
	if len(r) == 0 {
		return ""
	}
	return string(r[0]) + strings.Repeat("*", len(r)-1)
}

// MaskIDNumber keeps the first 6 characters (the region of registration)
// and the last 4 of an ID number: 11010519491231002X → 110105********002X.
// Anything of 10 characters or fewer is masked whole.
func MaskIDNumber(id string) string {
	r := []rune(id)
	if len(r) <= 10 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:6]) + strings.Repeat("*", len(r)-10) + string(r[len(r)-4:])
}
