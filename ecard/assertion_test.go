package ecard

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestAssertionSignedAndChecked: an assertion verifies with its key and
// nothing else: another key, a changed claim, an unknown kid, past expiry.
func TestAssertionSignedAndChecked(t *testing.T) {
	keys := staticKeys{0x0a0b0c0d: testKey(0).Public().(ed25519.PublicKey)}
	a := Assertion{Issuer: AssertionIssuer, Subject: "3f6c1d0e9b8a7f6e5d4c3b2a19081726", Name: "张*", Channel: "rsapp",
		Session: "MFRGGZDFMZTWQ2LKNNWG23TPOA", Issued: codeNow.Unix(), Expiry: codeNow.Add(AssertionTTL).Unix()}
	token, err := SignAssertion(a, 0x0a0b0c0d, testKey(0))
	if err != nil {
		t.Fatal(err)
	}
	head, _ := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if string(head) != `{"alg":"EdDSA","kid":"0a0b0c0d","typ":"JWT"}` {
		t.Fatalf("header %s", head)
	}
	got, err := VerifyAssertion(token, keys, codeNow)
	if err != nil || got != a {
		t.Fatalf("verify: %+v %v", got, err)
	}
	other, _ := SignAssertion(a, 0x0a0b0c0d, testKey(1))
	unknown, _ := SignAssertion(a, 0x01020304, testKey(0))
	forged := a
	forged.Name = "李*"
	fb, _ := SignAssertion(forged, 0x0a0b0c0d, testKey(0))
	spliced := strings.Split(token, ".")[0] + "." + strings.Split(fb, ".")[1] + "." + strings.Split(token, ".")[2]
	for name, c := range map[string]struct {
		token string
		now   time.Time
	}{
		"another key": {other, codeNow}, "unknown kid": {unknown, codeNow}, "changed claims": {spliced, codeNow},
		"expired": {token, codeNow.Add(AssertionTTL + time.Second)}, "truncated": {token[:40], codeNow},
	} {
		if _, err := VerifyAssertion(c.token, keys, c.now); !errors.Is(err, ErrAssertion) {
			t.Errorf("%s: %v, want ErrAssertion", name, err)
		}
	}
}
