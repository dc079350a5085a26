package domain

import "strings"

// The one masking rule for personal data shown to someone other than its
// holder (a terminal verifying an e-card, a counter's card display, batch
// reports and refusals): enough for the holder or an operator to recognise
// the person, too little to identify a stranger.

// MaskName keeps a name's first character (the surname, or its first
// character for a compound one) and writes '*' for each of the others:
// 张三 → 张*, 欧阳娜娜 → 欧***. A one-character name is masked whole.
func MaskName(name string) string {
	r := []rune(name)
	if len(r) <= 1 {
		return strings.Repeat("*", len(r))
	}
	return string(r[0]) + strings.Repeat("*", len(r)-1)
}

// MaskIDNumber keeps the first 3 and the last 4 characters of an ID number:
// 11010519491231002X → 110***********002X. The county of registration and
// the birth date stay hidden. Anything shorter than 8 characters is masked
// whole.
func MaskIDNumber(id string) string {
	r := []rune(id)
	if len(r) < 8 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-7) + string(r[len(r)-4:])
}
