package auth

import (
	"bytes"
	"testing"
)

// TestSealOpenLabels: what Seal sealed opens under its label only, with
// the current or an older key; nothing in clear is accepted.
func TestSealOpenLabels(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	old, _ := NewSecretKeys(oldKey)
	sealed, err := old.Seal("ecard-signing-key:0a0b0c0d", []byte("seed"))
	if err != nil {
		t.Fatal(err)
	}
	rotated, _ := NewSecretKeys(newKey, oldKey)
	if got, err := rotated.Open("ecard-signing-key:0a0b0c0d", sealed); err != nil || string(got) != "seed" {
		t.Fatalf("open under the older key: %q, %v", got, err)
	}
	if rotated.IsCurrent(sealed) {
		t.Fatal("sealed under the old key reported current")
	}
	if _, err := rotated.Open("ecard-signing-key:0a0b0c0e", sealed); err == nil {
		t.Fatal("opened under another label")
	}
	if _, err := rotated.Open("x", []byte("seed")); err == nil {
		t.Fatal("accepted a secret in clear")
	}
}
