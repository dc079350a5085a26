package httpapi

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of a signed request (see the package documentation for the
// canonical string).
const (
	HeaderClient    = "X-CL-Client"
	HeaderTimestamp = "X-CL-Timestamp"
	HeaderNonce     = "X-CL-Nonce"
	HeaderSignature = "X-CL-Signature"
)

// SignatureScheme is the first line of the canonical string; a new scheme
// gets a new name, so a signature never verifies under another layout.
const SignatureScheme = "CL1-HMAC-SHA256"

// SignatureSchemeEd25519 signs the same canonical string, its first line
// this name, with the client's own Ed25519 private key; the server holds
// only the public key. The signature is 128 lowercase hex digits. The
// scheme line differs, so bytes signed under one scheme are never the
// bytes checked under the other.
const SignatureSchemeEd25519 = "CL1-ED25519"

// VerificationKey is what checks a client's signatures: the scheme its
// credential is for and the key, an HMAC secret (SignatureScheme) or a
// 32-byte Ed25519 public key (SignatureSchemeEd25519). The scheme is the
// registered credential's, never the request's: a client cannot choose
// to be checked under another one.
type VerificationKey struct {
	Scheme string
	Key    []byte
}

// HMACKey is the verification key of an HMAC secret.
func HMACKey(secret []byte) VerificationKey {
	return VerificationKey{Scheme: SignatureScheme, Key: secret}
}

// Ed25519Key is the verification key of an Ed25519 public key.
func Ed25519Key(pub ed25519.PublicKey) VerificationKey {
	return VerificationKey{Scheme: SignatureSchemeEd25519, Key: pub}
}

// MaxClockSkew is how far a signed request's timestamp may be from the
// server's clock, either way. Nonces are remembered at least this long
// after the timestamp, so a replay is refused for as long as it is fresh.
const MaxClockSkew = 5 * time.Minute

// Errors of signature verification; each becomes 401 with its own code.
var (
	ErrSignatureMalformed = errors.New("malformed signed-request headers")
	ErrSignatureStale     = errors.New("signed request timestamp outside the allowed clock skew")
	ErrSignatureInvalid   = errors.New("signature does not match")
	// ErrNonceReplayed: the nonce was already used by the client.
	ErrNonceReplayed = errors.New("nonce already used")
)

// SignedRequest is what a signature covers, as read from a request.
type SignedRequest struct {
	Method    string
	Target    string // path with query, exactly as sent in the request line
	Client    string
	Timestamp string // Unix seconds, decimal
	Nonce     string
	Signature string // lowercase hex of the HMAC-SHA256 or of the Ed25519 signature
	BodyHash  [sha256.Size]byte
	// Scheme is the first line of the canonical string: SignatureScheme
	// when empty.
	Scheme string
}

// IsSigned reports whether the request carries a signature header at all.
func IsSigned(h http.Header) bool { return h.Get(HeaderSignature) != "" }

// ParseSignedRequest reads the signature headers of req and hashes body (the
// full request body). It checks only the form of the headers.
func ParseSignedRequest(req *http.Request, body []byte) (SignedRequest, error) {
	target := req.RequestURI
	if target == "" {
		target = req.URL.RequestURI()
	}
	s := SignedRequest{
		Method:    req.Method,
		Target:    target,
		Client:    req.Header.Get(HeaderClient),
		Timestamp: req.Header.Get(HeaderTimestamp),
		Nonce:     req.Header.Get(HeaderNonce),
		Signature: req.Header.Get(HeaderSignature),
		BodyHash:  sha256.Sum256(body),
	}
	return s, s.checkForm()
}

func (s SignedRequest) checkForm() error {
	switch {
	case !usableID(s.Client):
		return fmt.Errorf("%w: %s must be a client name", ErrSignatureMalformed, HeaderClient)
	case len(s.Timestamp) == 0 || len(s.Timestamp) > 12 || strings.Trim(s.Timestamp, "0123456789") != "":
		return fmt.Errorf("%w: %s must be Unix seconds", ErrSignatureMalformed, HeaderTimestamp)
	case !validNonce(s.Nonce):
		return fmt.Errorf("%w: %s must be 16 to 64 characters of A-Z a-z 0-9 _ -", ErrSignatureMalformed, HeaderNonce)
	case len(s.Signature) != 2*sha256.Size && len(s.Signature) != 2*ed25519.SignatureSize ||
		strings.Trim(s.Signature, "0123456789abcdef") != "":
		return fmt.Errorf("%w: %s must be 64 (HMAC) or 128 (Ed25519) lowercase hex digits", ErrSignatureMalformed, HeaderSignature)
	case s.Method == "" || s.Target == "" || strings.ContainsAny(s.Method+s.Target, "\n\r"):
		return fmt.Errorf("%w: bad request line", ErrSignatureMalformed)
	}
	return nil
}

func validNonce(n string) bool {
	if len(n) < 16 || len(n) > 64 {
		return false
	}
	for i := range len(n) {
		c := n[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Time is the signed timestamp.
func (s SignedRequest) Time() (time.Time, error) {
	sec, err := strconv.ParseInt(s.Timestamp, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s: %v", ErrSignatureMalformed, HeaderTimestamp, err)
	}
	return time.Unix(sec, 0), nil
}

// CanonicalString is the exact text that is signed.
func (s SignedRequest) CanonicalString() string {
	scheme := s.Scheme
	if scheme == "" {
		scheme = SignatureScheme
	}
	return strings.Join([]string{
		scheme,
		strings.ToUpper(s.Method),
		s.Target,
		s.Timestamp,
		s.Nonce,
		s.Client,
		hex.EncodeToString(s.BodyHash[:]),
	}, "\n")
}

// Compute returns the HMAC signature of s under secret.
func (s SignedRequest) Compute(secret []byte) string {
	s.Scheme = SignatureScheme
	m := hmac.New(sha256.New, secret)
	io.WriteString(m, s.CanonicalString())
	return hex.EncodeToString(m.Sum(nil))
}

// ComputeEd25519 returns the Ed25519 signature of s under priv.
func (s SignedRequest) ComputeEd25519(priv ed25519.PrivateKey) string {
	s.Scheme = SignatureSchemeEd25519
	return hex.EncodeToString(ed25519.Sign(priv, []byte(s.CanonicalString())))
}

// Verify checks the form, the timestamp against now (±MaxClockSkew) and the
// signature under key, in that order, so that nothing costly is done for
// a request that is malformed or stale. It does not check the nonce: that
// needs shared storage (SignedAuthenticator.UseNonce) and must only be done
// once the signature is known to be good, so nobody can burn others' nonces.
func (s SignedRequest) Verify(key VerificationKey, now time.Time) error {
	if err := s.checkForm(); err != nil {
		return err
	}
	at, err := s.Time()
	if err != nil {
		return err
	}
	if d := now.Sub(at); d > MaxClockSkew || d < -MaxClockSkew {
		return fmt.Errorf("%w: %s is %s away from the server clock", ErrSignatureStale, HeaderTimestamp, d.Round(time.Second))
	}
	switch key.Scheme {
	case SignatureScheme:
		if !hmac.Equal([]byte(s.Compute(key.Key)), []byte(s.Signature)) {
			return ErrSignatureInvalid
		}
	case SignatureSchemeEd25519:
		sig, err := hex.DecodeString(s.Signature)
		if err != nil || len(sig) != ed25519.SignatureSize || len(key.Key) != ed25519.PublicKeySize {
			return ErrSignatureInvalid
		}
		s.Scheme = SignatureSchemeEd25519
		if !ed25519.Verify(ed25519.PublicKey(key.Key), []byte(s.CanonicalString()), sig) {
			return ErrSignatureInvalid
		}
	default:
		return fmt.Errorf("%w: the client's credential has no known scheme %q", ErrSignatureInvalid, key.Scheme)
	}
	return nil
}

// SignRequest signs req for client with secret at now (scheme
// CL1-HMAC-SHA256), setting the four X-CL-* headers; nonce must be fresh
// per request (16 to 64 URL-safe characters). It reads the body and puts it
// back. Go clients of cardledger use it; it also documents the scheme by
// example.
func SignRequest(req *http.Request, client string, secret []byte, nonce string, now time.Time) error {
	return signRequest(req, client, nonce, now, func(s SignedRequest) string { return s.Compute(secret) })
}

// SignRequestEd25519 is SignRequest under scheme CL1-ED25519, with the
// client's own private key (whose public key the server has registered).
func SignRequestEd25519(req *http.Request, client string, priv ed25519.PrivateKey, nonce string, now time.Time) error {
	if len(priv) != ed25519.PrivateKeySize {
		return errors.New("sign request: not an Ed25519 private key")
	}
	return signRequest(req, client, nonce, now, func(s SignedRequest) string { return s.ComputeEd25519(priv) })
}

func signRequest(req *http.Request, client, nonce string, now time.Time, sign func(SignedRequest) string) error {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return fmt.Errorf("sign request: read body: %w", err)
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	s := SignedRequest{
		Method:    req.Method,
		Target:    req.URL.RequestURI(),
		Client:    client,
		Timestamp: strconv.FormatInt(now.Unix(), 10),
		Nonce:     nonce,
		BodyHash:  sha256.Sum256(body),
	}
	s.Signature = sign(s)
	if err := s.checkForm(); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	req.Header.Set(HeaderClient, s.Client)
	req.Header.Set(HeaderTimestamp, s.Timestamp)
	req.Header.Set(HeaderNonce, s.Nonce)
	req.Header.Set(HeaderSignature, s.Signature)
	return nil
}
