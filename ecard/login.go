package ecard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// Scan-to-login (扫码登录): a web page asks for a login session and shows
// its QR code; the holder scans it in a channel's app, which confirms the
// session for the holder (the channel check: bound, consent identity, not
// suspended); the page, polling, then gets a holder assertion
// (assertion.go). Sessions live in PostgreSQL, so any instance answers
// any step; a session is confirmed once and expires.

// Stable problem codes of the login sessions (docs/errors.md).
const (
	CodeLoginSessionNotFound  = "login_session_not_found"
	CodeLoginSessionExpired   = "login_session_expired"
	CodeLoginSessionConfirmed = "login_session_confirmed"
)

// LoginMarker starts every login QR's text: the channel's app knows it is
// this server's login (not an identity code) and reads the session id
// after it. QR alphanumeric characters only.
const LoginMarker = "CARDLEDGER-LOGIN:V1:"

// Defaults of the login settings (internal/config carries them).
const (
	DefaultLoginTTL = 120 * time.Second
	MaxLoginTTL     = 10 * time.Minute
	// DefaultLoginRate is how many sessions one address may open a minute.
	DefaultLoginRate = 20
	// LoginRateOff in LoginDeps.RatePerMin turns the limit off.
	LoginRateOff = -1
)

// sessionIDLen is a session id's length: 16 random bytes in base32.
var sessionIDLen = encoding.EncodedLen(16)

// ChannelReader is the one channel check of the holder side
// (*commands.Service): the caller's region scope, the channel's
// suspension, the holder's binding and consent, and the access record.
type ChannelReader interface {
	ChannelRead(ctx context.Context, env commands.Envelope, holderID string, scope domain.ConsentScope, operation string) (commands.Loaded, error)
}

// LoginDeps are what a LoginService needs.
type LoginDeps struct {
	Pool     *pgxpool.Pool
	Keys     *KeyRing
	Channels ChannelReader
	// SubjectKey keys the pseudonymous holder id of assertions: the same
	// holder gets the same subject as long as the key stays.
	SubjectKey []byte
	Clock      func() time.Time
	TTL        time.Duration // 0: DefaultLoginTTL
	RatePerMin int           // sessions per client address a minute; 0: DefaultLoginRate
}

// LoginService runs the login sessions.
type LoginService struct {
	d     LoginDeps
	limit *addrLimiter
}

// NewLoginService checks d.
func NewLoginService(d LoginDeps) (*LoginService, error) {
	if d.Pool == nil || d.Keys == nil || d.Channels == nil || d.Clock == nil || len(d.SubjectKey) < 16 {
		return nil, errors.New("ecard: login needs a pool, keys, the channel check, a clock and a subject key")
	}
	if d.TTL == 0 {
		d.TTL = DefaultLoginTTL
	}
	if d.TTL < 10*time.Second || d.TTL > MaxLoginTTL {
		return nil, fmt.Errorf("ecard: login session lifetime %v outside 10s..%v", d.TTL, MaxLoginTTL)
	}
	if d.RatePerMin == 0 {
		d.RatePerMin = DefaultLoginRate
	}
	return &LoginService{d: d, limit: newAddrLimiter(d.RatePerMin)}, nil
}

// NewLogin is a new session: the page keeps PollSecret (it proves the
// poller is the page that asked) and shows QRText.
type NewLogin struct {
	ID         string
	PollSecret string
	QRText     string
	ExpiresAt  time.Time
}

// Create opens a session for the page at addr (the rate limit's key).
func (s *LoginService) Create(ctx context.Context, addr string) (NewLogin, error) {
	now := s.d.Clock()
	if wait, ok := s.limit.allow(addr, now); !ok {
		p := httpapi.NewProblem(http.StatusTooManyRequests, httpapi.CodeRateLimited,
			fmt.Sprintf("too many login sessions from this address; retry in %s", wait.Round(time.Second)))
		p.RetryAfter = int(wait/time.Second) + 1
		return NewLogin{}, p
	}
	var id [16]byte
	var secret [32]byte
	if _, err := rand.Read(id[:]); err != nil {
		return NewLogin{}, err
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return NewLogin{}, err
	}
	n := NewLogin{ID: encoding.EncodeToString(id[:]), PollSecret: b64.EncodeToString(secret[:]),
		ExpiresAt: now.Add(s.d.TTL).UTC().Truncate(time.Second)}
	n.QRText = LoginMarker + n.ID
	hash := sha256.Sum256([]byte(n.PollSecret))
	if _, err := s.d.Pool.Exec(ctx, `INSERT INTO ecard.login_sessions (id, poll_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4)`, n.ID, hash[:], now, n.ExpiresAt); err != nil {
		return NewLogin{}, fmt.Errorf("ecard: create login session: %w", err)
	}
	// Keep the table small: sessions an hour past their expiry are of no use.
	if _, err := s.d.Pool.Exec(ctx, `DELETE FROM ecard.login_sessions WHERE id IN
		(SELECT id FROM ecard.login_sessions WHERE expires_at < $1 LIMIT 100)`, now.Add(-time.Hour)); err != nil {
		return NewLogin{}, fmt.Errorf("ecard: prune login sessions: %w", err)
	}
	return n, nil
}

// LoginStatus is a session as its page sees it.
type LoginStatus struct {
	Status    string // "pending" or "confirmed"
	ExpiresAt time.Time
	Assertion string // confirmed: the holder assertion
	Claims    *Assertion
}

// Session states.
const (
	LoginPending   = "pending"
	LoginConfirmed = "confirmed"
)

type loginRow struct {
	pollHash  []byte
	expiresAt time.Time
	confirmed *time.Time
	claims    *string // JSON of the confirmed session's Assertion
}

func (s *LoginService) load(ctx context.Context, q pgx.Tx, id string) (loginRow, error) {
	var r loginRow
	if len(id) != sessionIDLen || strings.Trim(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
		return r, notFoundSession()
	}
	sql := `SELECT poll_hash, expires_at, confirmed_at, claims FROM ecard.login_sessions WHERE id = $1`
	var err error
	if q != nil {
		err = q.QueryRow(ctx, sql+" FOR UPDATE", id).Scan(&r.pollHash, &r.expiresAt, &r.confirmed, &r.claims)
	} else {
		err = s.d.Pool.QueryRow(ctx, sql, id).Scan(&r.pollHash, &r.expiresAt, &r.confirmed, &r.claims)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return r, notFoundSession()
	}
	if err != nil {
		return r, fmt.Errorf("ecard: read login session: %w", err)
	}
	return r, nil
}

func notFoundSession() error {
	return httpapi.NotFound(CodeLoginSessionNotFound, "no such login session (or not yours)")
}

func expiredSession(at time.Time) error {
	return httpapi.NewProblem(http.StatusGone, CodeLoginSessionExpired,
		"the login session expired at "+at.UTC().Format(time.RFC3339)+"; open a new one")
}

// Poll answers the page: pending, or confirmed with the assertion. A
// wrong poll secret is not found, as an unknown id is.
func (s *LoginService) Poll(ctx context.Context, id, pollSecret string) (LoginStatus, error) {
	r, err := s.load(ctx, nil, id)
	if err != nil {
		return LoginStatus{}, err
	}
	hash := sha256.Sum256([]byte(pollSecret))
	if subtle.ConstantTimeCompare(hash[:], r.pollHash) != 1 {
		return LoginStatus{}, notFoundSession()
	}
	now := s.d.Clock()
	if r.confirmed == nil {
		if now.After(r.expiresAt) {
			return LoginStatus{}, expiredSession(r.expiresAt)
		}
		return LoginStatus{Status: LoginPending, ExpiresAt: r.expiresAt.UTC()}, nil
	}
	var a Assertion
	if r.claims == nil || json.Unmarshal([]byte(*r.claims), &a) != nil || now.Unix() > a.Expiry {
		// Past the assertion's expiry, or confirmed before claims were
		// kept (an upgrade emptied its stored token): the page must start over.
		return LoginStatus{}, expiredSession(r.expiresAt)
	}
	kid, priv, err := s.d.Keys.Signer(ctx)
	if err != nil {
		return LoginStatus{}, err
	}
	token, err := SignAssertion(a, kid, priv)
	if err != nil {
		return LoginStatus{}, err
	}
	return LoginStatus{Status: LoginConfirmed, ExpiresAt: r.expiresAt.UTC(), Assertion: token, Claims: &a}, nil
}

// Confirmed is a confirmation's answer to the channel.
type Confirmed struct {
	SessionID   string
	ConfirmedAt time.Time
	Name        string // masked
}

// Confirm confirms session id for holderID on behalf of the channel in
// env (env.Scope.Channel): once, before it expires, for a holder the
// channel may act for under consent identity with a usable e-card. The
// login is recorded as the channel's access under that consent.
func (s *LoginService) Confirm(ctx context.Context, env commands.Envelope, id, holderID string) (Confirmed, error) {
	channel := env.Scope.Channel
	if channel == "" {
		return Confirmed{}, httpapi.NewProblem(http.StatusForbidden, CodeNoChannel, "the client has no channel code (clients add --role channel --channel CODE)")
	}
	// The session first: a dead session costs no holder read nor access record.
	r, err := s.load(ctx, nil, id)
	if err != nil {
		return Confirmed{}, err
	}
	if err := s.confirmable(r); err != nil {
		return Confirmed{}, err
	}
	loaded, err := s.d.Channels.ChannelRead(ctx, env, holderID, domain.ConsentIdentity, "login")
	if err != nil {
		return Confirmed{}, err
	}
	h := loaded.State
	if err := cardUsable(h); err != nil {
		return Confirmed{}, err
	}
	// A signing key must exist before the session is confirmed for good.
	if _, _, err := s.d.Keys.Signer(ctx); err != nil {
		return Confirmed{}, err
	}
	var out Confirmed
	err = pgx.BeginFunc(ctx, s.d.Pool, func(tx pgx.Tx) error {
		r, err := s.load(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := s.confirmable(r); err != nil {
			return err
		}
		now := s.d.Clock()
		a := Assertion{Issuer: AssertionIssuer, Subject: s.subject(h.ID), Name: domain.MaskName(h.Profile.Name), Channel: channel,
			Session: id, Issued: now.Unix(), Expiry: now.Add(AssertionTTL).Unix()}
		claims, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE ecard.login_sessions SET confirmed_at = $2, channel = $3, client = $4,
			cardholder_id = $5, claims = $6 WHERE id = $1`, id, now, channel, env.Actor.Client, h.ID, string(claims)); err != nil {
			return fmt.Errorf("ecard: confirm login session: %w", err)
		}
		out = Confirmed{SessionID: id, ConfirmedAt: now.UTC(), Name: a.Name}
		return nil
	})
	return out, err
}

func (s *LoginService) confirmable(r loginRow) error {
	if r.confirmed != nil {
		return httpapi.Conflict(CodeLoginSessionConfirmed, "the login session was confirmed already")
	}
	if s.d.Clock().After(r.expiresAt) {
		return expiredSession(r.expiresAt)
	}
	return nil
}

// subject is the pseudonymous holder id of assertions: a keyed hash of
// the cardholder id (itself a keyed hash of the ID number), so it reveals
// neither and stays the same for the holder.
func (s *LoginService) subject(holderID string) string {
	m := hmac.New(sha256.New, s.d.SubjectKey)
	m.Write([]byte("ecard-login-subject\x00" + holderID))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// TTL is a session's lifetime.
func (s *LoginService) TTL() time.Duration { return s.d.TTL }

// addrLimiter allows perMin sessions a minute per client address (a
// token bucket per address, per instance). Buckets idle for a minute are
// forgotten when the map grows: a forgotten one starts full.
type addrLimiter struct {
	perMin  int
	mu      sync.Mutex
	buckets map[string]*bucketAt
}

type bucketAt struct {
	tokens float64
	last   time.Time
}

func newAddrLimiter(perMin int) *addrLimiter {
	return &addrLimiter{perMin: perMin, buckets: map[string]*bucketAt{}}
}

func (l *addrLimiter) allow(addr string, now time.Time) (time.Duration, bool) {
	if l.perMin < 0 {
		return 0, true // LoginRateOff
	}
	rate := float64(l.perMin) / 60 // tokens a second
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[addr]
	if !ok {
		if len(l.buckets) >= 10_000 {
			for k, v := range l.buckets {
				if now.Sub(v.last) > time.Minute {
					delete(l.buckets, k)
				}
			}
		}
		b = &bucketAt{tokens: float64(l.perMin), last: now}
		l.buckets[addr] = b
	}
	b.tokens = min(float64(l.perMin), b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) / rate * float64(time.Second)), false
	}
	b.tokens--
	return 0, true
}
