package ecard

import (
	"crypto/ed25519"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cardledger/cardledger/domain"
)

// CodeVersion1 is the only layout so far (first byte of a code).
const CodeVersion1 byte = 1

// CodePayment is the first byte of a payment code (付款码): layout v1 for
// another purpose. The byte is signed, so an identity code cannot be turned
// into a payment code, nor the reverse: Parse refuses payment codes and
// ParsePayment everything else.
const CodePayment byte = 2

// Offsets and sizes of layout v1 (docs/ecard.md draws it):
//
//	0      version (1)
//	1..4   key id, big-endian uint32
//	5..8   expiry, unix seconds, big-endian uint32
//	9..16  code id, 8 random bytes
//	17..25 card number, 9 ASCII characters
//	26     channel code length n (2..16)
//	27..   channel code, n ASCII characters
//	then   Ed25519 signature (64 bytes) over every byte before it
const (
	offKeyID    = 1
	offExpiry   = 5
	offCodeID   = 9
	offCardNo   = 17
	offChanLen  = 26
	offChannel  = 27
	cardNoLen   = 9
	codeIDLen   = 8
	minChanLen  = 2
	signedFixed = offChannel // bytes before the channel code
)

// MinCodeBytes and MaxCodeBytes bound a v1 payload with its signature.
const (
	MinCodeBytes = signedFixed + minChanLen + ed25519.SignatureSize
	MaxCodeBytes = signedFixed + domain.MaxChannelCodeLen + ed25519.SignatureSize
)

// MaxCodeLen is the longest code text (MaxCodeBytes in base32, unpadded):
// anything longer is refused before decoding.
var MaxCodeLen = encoding.EncodedLen(MaxCodeBytes)

// encoding is RFC 4648 base32, upper case, no padding. Decode checks that a
// text is exactly what this encoding writes for its bytes (the decoder
// alone ignores newlines and the unused bits of the last character).
var encoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Sentinel errors of Parse; every error it returns wraps exactly one.
var (
	ErrMalformed    = errors.New("code malformed")
	ErrBadSignature = errors.New("code signature not valid")
	ErrExpired      = errors.New("code expired")
)

// CodeID is a code's random identifier; a code verifies once per id.
type CodeID [codeIDLen]byte

func (id CodeID) String() string { return fmt.Sprintf("%x", id[:]) }

// Claims is what a code says.
type Claims struct {
	KeyID   KeyID
	Expiry  time.Time // whole seconds, UTC
	CodeID  CodeID
	CardNo  string
	Channel string
	Payment bool // a payment code (CodePayment)
}

// KeyID names a signing key inside a code.
type KeyID uint32

// String is the key id as the key endpoint writes it: 8 lower-case hex digits.
func (k KeyID) String() string { return fmt.Sprintf("%08x", uint32(k)) }

// ParseKeyID reads KeyID.String's form.
func ParseKeyID(s string) (KeyID, error) {
	var v uint32
	if len(s) != 8 {
		return 0, fmt.Errorf("key id %q: want 8 hex digits", s)
	}
	if _, err := fmt.Sscanf(s, "%08x", &v); err != nil || KeyID(v).String() != s {
		return 0, fmt.Errorf("key id %q: want 8 lower-case hex digits", s)
	}
	return KeyID(v), nil
}

// PublicKeys answers the public key of a key id that is accepted at now
// (published and not retired).
type PublicKeys interface {
	PublicKey(id KeyID, now time.Time) (ed25519.PublicKey, bool)
}

// Encode signs c with priv and returns the code text. c.KeyID must name
// priv's key; the expiry is cut to whole seconds.
func Encode(c Claims, priv ed25519.PrivateKey) (string, error) {
	payload, err := c.payload()
	if err != nil {
		return "", err
	}
	if len(priv) != ed25519.PrivateKeySize {
		return "", errors.New("ecard: signing key is not an Ed25519 private key")
	}
	return encoding.EncodeToString(append(payload, ed25519.Sign(priv, payload)...)), nil
}

func (c Claims) payload() ([]byte, error) {
	if err := domain.ValidateCardNo(c.CardNo); err != nil {
		return nil, fmt.Errorf("ecard: encode: %w", err)
	}
	if err := domain.ValidateChannelCode(c.Channel); err != nil {
		return nil, fmt.Errorf("ecard: encode: %w", err)
	}
	exp := c.Expiry.Unix()
	if exp <= 0 || exp > int64(^uint32(0)) {
		return nil, fmt.Errorf("ecard: encode: expiry %v outside the uint32 range of layout v1", c.Expiry)
	}
	b := make([]byte, signedFixed, signedFixed+len(c.Channel)+ed25519.SignatureSize)
	b[0] = CodeVersion1
	if c.Payment {
		b[0] = CodePayment
	}
	binary.BigEndian.PutUint32(b[offKeyID:], uint32(c.KeyID))
	binary.BigEndian.PutUint32(b[offExpiry:], uint32(exp))
	copy(b[offCodeID:], c.CodeID[:])
	copy(b[offCardNo:], c.CardNo)
	b[offChanLen] = byte(len(c.Channel))
	return append(b, c.Channel...), nil
}

// Decode reads a code's structure without checking its signature or
// expiry: the claims, the signed bytes and the signature. Only a text
// Encode could have written passes: upper-case unpadded base32 whose
// re-encoding is the text itself, a known version, a valid card number and
// channel code, and exactly the layout's length.
func Decode(text string) (c Claims, signed, sig []byte, err error) {
	if len(text) == 0 {
		return c, nil, nil, fmt.Errorf("%w: empty", ErrMalformed)
	}
	if len(text) > MaxCodeLen {
		return c, nil, nil, fmt.Errorf("%w: %d characters, at most %d", ErrMalformed, len(text), MaxCodeLen)
	}
	raw, err := encoding.DecodeString(text)
	if err != nil {
		return c, nil, nil, fmt.Errorf("%w: not upper-case unpadded base32", ErrMalformed)
	}
	// The round trip refuses every other spelling of the same bytes: set
	// unused bits, newlines the decoder skips.
	if encoding.EncodeToString(raw) != text {
		return c, nil, nil, fmt.Errorf("%w: not in canonical base32", ErrMalformed)
	}
	if len(raw) < MinCodeBytes {
		return c, nil, nil, fmt.Errorf("%w: %d bytes, at least %d", ErrMalformed, len(raw), MinCodeBytes)
	}
	if raw[0] != CodeVersion1 && raw[0] != CodePayment {
		return c, nil, nil, fmt.Errorf("%w: unknown version %d", ErrMalformed, raw[0])
	}
	c.Payment = raw[0] == CodePayment
	n := int(raw[offChanLen])
	if n < minChanLen || n > domain.MaxChannelCodeLen {
		return c, nil, nil, fmt.Errorf("%w: channel code length %d", ErrMalformed, n)
	}
	if want := signedFixed + n + ed25519.SignatureSize; len(raw) != want {
		return c, nil, nil, fmt.Errorf("%w: %d bytes, layout says %d", ErrMalformed, len(raw), want)
	}
	c.KeyID = KeyID(binary.BigEndian.Uint32(raw[offKeyID:]))
	c.Expiry = time.Unix(int64(binary.BigEndian.Uint32(raw[offExpiry:])), 0).UTC()
	copy(c.CodeID[:], raw[offCodeID:])
	c.CardNo = string(raw[offCardNo : offCardNo+cardNoLen])
	c.Channel = string(raw[offChannel : offChannel+n])
	if domain.ValidateCardNo(c.CardNo) != nil {
		return Claims{}, nil, nil, fmt.Errorf("%w: card number field", ErrMalformed)
	}
	if domain.ValidateChannelCode(c.Channel) != nil {
		return Claims{}, nil, nil, fmt.Errorf("%w: channel code field", ErrMalformed)
	}
	end := signedFixed + n
	return c, raw[:end], raw[end:], nil
}

// Parse decodes text and checks it: its key is one keys accepts at now,
// its signature is that key's, and it has not expired at now (a code is
// good up to and including its expiry second).
func Parse(text string, keys PublicKeys, now time.Time) (Claims, error) {
	return parse(text, keys, now, false)
}

// ParsePayment is Parse for payment codes: an identity code is malformed here.
func ParsePayment(text string, keys PublicKeys, now time.Time) (Claims, error) {
	return parse(text, keys, now, true)
}

func parse(text string, keys PublicKeys, now time.Time, payment bool) (Claims, error) {
	c, signed, sig, err := Decode(text)
	if err != nil {
		return Claims{}, err
	}
	if c.Payment != payment {
		if payment {
			return Claims{}, fmt.Errorf("%w: an identity code, not a payment code", ErrMalformed)
		}
		return Claims{}, fmt.Errorf("%w: a payment code, not an identity code", ErrMalformed)
	}
	pub, ok := keys.PublicKey(c.KeyID, now)
	if !ok {
		return Claims{}, fmt.Errorf("%w: key %s unknown or retired", ErrBadSignature, c.KeyID)
	}
	if !ed25519.Verify(pub, signed, sig) {
		return Claims{}, fmt.Errorf("%w: key %s", ErrBadSignature, c.KeyID)
	}
	if now.Unix() > c.Expiry.Unix() {
		return Claims{}, fmt.Errorf("%w at %s", ErrExpired, c.Expiry.Format(time.RFC3339))
	}
	return c, nil
}
