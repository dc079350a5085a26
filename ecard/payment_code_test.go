package ecard

import (
	"crypto/ed25519"
	"errors"
	"testing"
)

// TestPaymentAndIdentityCodesDoNotPassForEachOther: the first byte is
// signed, so a terminal cannot pay with an identity code, a merchant
// cannot verify an identity with a payment code, and flipping the byte
// breaks the signature.
func TestPaymentAndIdentityCodesDoNotPassForEachOther(t *testing.T) {
	priv := testKey(0)
	keys := staticKeys{0x0a0b0c0d: priv.Public().(ed25519.PublicKey)}
	identity := mustEncode(t, testClaims("icbc"), priv)
	pc := testClaims("icbc")
	pc.Payment = true
	payment := mustEncode(t, pc, priv)
	if got, err := ParsePayment(payment, keys, codeNow); err != nil || got != pc {
		t.Fatalf("payment code: %+v, %v", got, err)
	}
	if _, err := Parse(payment, keys, codeNow); !errors.Is(err, ErrMalformed) {
		t.Fatalf("payment code as identity: %v", err)
	}
	if _, err := ParsePayment(identity, keys, codeNow); !errors.Is(err, ErrMalformed) {
		t.Fatalf("identity code as payment: %v", err)
	}
	raw, _ := encoding.DecodeString(identity)
	raw[0] = CodePayment
	if _, err := ParsePayment(encoding.EncodeToString(raw), keys, codeNow); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("identity code with the payment byte: %v", err)
	}
}
