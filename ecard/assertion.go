package ecard

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// A holder assertion is what a confirmed scan-to-login session gives the
// page: a compact JWS (RFC 7515) signed with the e-card signing keys,
// algorithm EdDSA (Ed25519, RFC 8037), the key id in the header's "kid" as
// GET /v1/ecard/keys writes it, so anyone holding the published keys can
// check it:
//
//	BASE64URL({"alg":"EdDSA","kid":"0a0b0c0d","typ":"JWT"}) "."
//	BASE64URL(claims JSON) "." BASE64URL(Ed25519 signature over the two parts and the dot)
//
// It holds no ID number and no full name: a pseudonymous subject, the
// masked name and the channel that confirmed.

// AssertionIssuer is the "iss" of every holder assertion.
const AssertionIssuer = "cardledger"

// AssertionTTL is how long a holder assertion is good for: the page logs
// the holder in at once.
const AssertionTTL = 5 * time.Minute

// Assertion is a holder assertion's claims.
type Assertion struct {
	Issuer  string `json:"iss"`
	Subject string `json:"sub"`  // pseudonymous holder id (LoginService.subject)
	Name    string `json:"name"` // masked: 张*
	Channel string `json:"channel"`
	Session string `json:"sid"` // the login session
	Issued  int64  `json:"iat"` // unix seconds
	Expiry  int64  `json:"exp"`
}

type jwsHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

var b64 = base64.RawURLEncoding

// SignAssertion returns a's compact JWS signed by priv, key id kid.
func SignAssertion(a Assertion, kid KeyID, priv ed25519.PrivateKey) (string, error) {
	h, err := json.Marshal(jwsHeader{Alg: "EdDSA", Kid: kid.String(), Typ: "JWT"})
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(a)
	if err != nil {
		return "", err
	}
	signing := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	return signing + "." + b64.EncodeToString(ed25519.Sign(priv, []byte(signing))), nil
}

// ErrAssertion is every VerifyAssertion refusal.
var ErrAssertion = errors.New("holder assertion not valid")

// VerifyAssertion checks a holder assertion with keys (the published
// keys: a KeysFile, or the server's ring) at now: its form, key, signature
// and expiry.
func VerifyAssertion(token string, keys PublicKeys, now time.Time) (Assertion, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Assertion{}, fmt.Errorf("%w: not three dot-separated parts", ErrAssertion)
	}
	hb, err1 := b64.DecodeString(parts[0])
	pb, err2 := b64.DecodeString(parts[1])
	sig, err3 := b64.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return Assertion{}, fmt.Errorf("%w: not unpadded base64url", ErrAssertion)
	}
	var h jwsHeader
	if err := json.Unmarshal(hb, &h); err != nil || h.Alg != "EdDSA" {
		return Assertion{}, fmt.Errorf("%w: header is not EdDSA", ErrAssertion)
	}
	kid, err := ParseKeyID(h.Kid)
	if err != nil {
		return Assertion{}, fmt.Errorf("%w: %v", ErrAssertion, err)
	}
	pub, ok := keys.PublicKey(kid, now)
	if !ok || !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig) {
		return Assertion{}, fmt.Errorf("%w: signature (key %s)", ErrAssertion, kid)
	}
	var a Assertion
	if err := json.Unmarshal(pb, &a); err != nil {
		return Assertion{}, fmt.Errorf("%w: claims: %v", ErrAssertion, err)
	}
	if a.Issuer != AssertionIssuer || now.Unix() > a.Expiry {
		return Assertion{}, fmt.Errorf("%w: issuer %q or expired at %d", ErrAssertion, a.Issuer, a.Expiry)
	}
	return a, nil
}
