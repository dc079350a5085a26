package httpapi

import (
	"bytes"
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
	Signature string // lowercase hex of the HMAC-SHA256
	BodyHash  [sha256.Size]byte
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
	case len(s.Signature) != 2*sha256.Size || strings.Trim(s.Signature, "0123456789abcdef") != "":
		return fmt.Errorf("%w: %s must be 64 lowercase hex digits", ErrSignatureMalformed, HeaderSignature)
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
	return strings.Join([]string{
		SignatureScheme,
		strings.ToUpper(s.Method),
		s.Target,
		s.Timestamp,
		s.Nonce,
		s.Client,
		hex.EncodeToString(s.BodyHash[:]),
	}, "\n")
}

// Compute returns the signature of s under secret.
func (s SignedRequest) Compute(secret []byte) string {
	m := hmac.New(sha256.New, secret)
	io.WriteString(m, s.CanonicalString())
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks the form, the timestamp against now (±MaxClockSkew) and the
// signature under secret, in that order, so that nothing costly is done for
// a request that is malformed or stale. It does not check the nonce: that
// needs shared storage (SignedAuthenticator.UseNonce) and must only be done
// once the signature is known to be good, so nobody can burn others' nonces.
func (s SignedRequest) Verify(secret []byte, now time.Time) error {
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
	want := s.Compute(secret)
	if !hmac.Equal([]byte(want), []byte(s.Signature)) {
		return ErrSignatureInvalid
	}
	return nil
}

// SignRequest signs req for client with secret at now, setting the four
// X-CL-* headers; nonce must be fresh per request (16 to 64 URL-safe
// characters). It reads the body and puts it back. Go clients of cardledger
// use it; it also documents the scheme by example.
func SignRequest(req *http.Request, client string, secret []byte, nonce string, now time.Time) error {
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
	s.Signature = s.Compute(secret)
	if err := s.checkForm(); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	req.Header.Set(HeaderClient, s.Client)
	req.Header.Set(HeaderTimestamp, s.Timestamp)
	req.Header.Set(HeaderNonce, s.Nonce)
	req.Header.Set(HeaderSignature, s.Signature)
	return nil
}
