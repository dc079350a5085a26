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

// TestReseal: a clear value and one sealed under an older key both come out
// sealed under the current key, under their label only.
func TestReseal(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	old, _ := NewSecretKeys(oldKey)
	rotated, _ := NewSecretKeys(newKey, oldKey)
	underOld, err := old.Seal("sub:1", []byte("s1"))
	if err != nil {
		t.Fatal(err)
	}
	for name, stored := range map[string][]byte{"clear": []byte("s1"), "older key": underOld} {
		resealed, err := rotated.Reseal("sub:1", stored)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !rotated.IsCurrent(resealed) || bytes.Contains(resealed, []byte("s1")) {
			t.Fatalf("%s: not sealed under the current key: %q", name, resealed)
		}
		if got, err := rotated.Open("sub:1", resealed); err != nil || string(got) != "s1" {
			t.Fatalf("%s: reopened %q, %v", name, got, err)
		}
		if _, err := rotated.Open("sub:2", resealed); err == nil {
			t.Fatalf("%s: opened under another label", name)
		}
	}
	if _, err := rotated.Reseal("sub:2", underOld); err == nil {
		t.Fatal("resealed under another label")
	}
}
