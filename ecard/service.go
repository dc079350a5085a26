package ecard

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// Stable problem codes of the e-card routes (docs/errors.md).
const (
	CodeMalformed     = "code_malformed"
	CodeBadSignature  = "code_bad_signature"
	CodeExpired       = "code_expired"
	CodeUsed          = "code_used"
	CodeECardRevoked  = "ecard_revoked"
	CodeCardNotUsable = "card_not_usable"
	// The channel refusals are the command side's, one code each.
	CodeHolderNotBound   = commands.CodeHolderNotBound
	CodeConsentRequired  = commands.CodeConsentRequired
	CodeChannelSuspended = commands.CodeChannelSuspended
	CodeNoChannel        = "client_without_channel"
)

// Defaults of the settings (internal/config carries them).
const (
	DefaultTTL        = 60 * time.Second
	DefaultRiskWindow = 10 * time.Minute
	// MaxTTL bounds a configured lifetime: a dynamic code is short-lived.
	MaxTTL = 10 * time.Minute
)

// Service issues and verifies codes.
type Service struct {
	ring    *KeyRing
	holders Holders
	pool    *pgxpool.Pool
	usage   UsageRecorder
	gate    ChannelGate
	access  AccessRecorder
	alerts  RiskAlerter
	clock   func() time.Time
	ttl     time.Duration
	window  time.Duration
	log     logrus.FieldLogger
}

// Deps are what a Service needs; Gate, Access and Alerts may be nil until
// the holder side is wired (nothing suspended, nothing recorded).
type Deps struct {
	Keys       *KeyRing
	Holders    Holders
	Pool       *pgxpool.Pool // the verifications table
	Usage      UsageRecorder
	Gate       ChannelGate
	Access     AccessRecorder
	Alerts     RiskAlerter
	Clock      func() time.Time
	TTL        time.Duration // 0: DefaultTTL
	RiskWindow time.Duration // 0: DefaultRiskWindow
	Log        logrus.FieldLogger
}

// NewService checks d and returns the service.
func NewService(d Deps) (*Service, error) {
	if d.Keys == nil || d.Holders == nil || d.Pool == nil || d.Usage == nil || d.Clock == nil {
		return nil, errors.New("ecard: service needs keys, holders, a pool, a usage recorder and a clock")
	}
	s := &Service{ring: d.Keys, holders: d.Holders, pool: d.Pool, usage: d.Usage, gate: d.Gate, access: d.Access,
		alerts: d.Alerts, clock: d.Clock, ttl: d.TTL, window: d.RiskWindow, log: d.Log}
	if s.gate == nil {
		s.gate = noGate{}
	}
	if s.access == nil {
		s.access = noAccess{}
	}
	if s.alerts == nil {
		s.alerts = noAlerts{}
	}
	if s.ttl == 0 {
		s.ttl = DefaultTTL
	}
	if s.ttl < time.Second || s.ttl > MaxTTL {
		return nil, fmt.Errorf("ecard: code lifetime %v outside 1s..%v", s.ttl, MaxTTL)
	}
	if s.window == 0 {
		s.window = DefaultRiskWindow
	}
	if s.log == nil {
		l := logrus.New()
		l.SetOutput(nopWriter{})
		s.log = l
	}
	return s, nil
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

// TTL is a code's lifetime.
func (s *Service) TTL() time.Duration { return s.ttl }

// Keys is the service's key ring.
func (s *Service) Keys() *KeyRing { return s.ring }

// Request is who calls and the request's metadata (for the records it
// leaves).
type Request struct {
	Principal     httpapi.Principal
	RequestID     string
	CorrelationID string
	RemoteAddr    string
}

// Issued is a new code.
type Issued struct {
	Code      string
	ExpiresAt time.Time
	Format    string
	Image     []byte
	MediaType string
	Version   int // QR version
}

// Issue makes a code for the holder, who must be bound to the calling
// channel and consent to identity use, with a usable e-card.
func (s *Service) Issue(ctx context.Context, r Request, cardholderID, format string) (Issued, error) {
	p := r.Principal
	if p.Channel == "" {
		return Issued{}, httpapi.NewProblem(http.StatusForbidden, CodeNoChannel, "the client has no channel code (clients add --role channel --channel CODE)")
	}
	if err := s.checkChannel(ctx, p.Channel); err != nil {
		return Issued{}, err
	}
	h, err := s.holders.Load(ctx, cardholderID)
	if err != nil {
		return Issued{}, err
	}
	if !h.Registered {
		return Issued{}, domain.NotFound(domain.CodeCardholderNotFound, "no cardholder %s", cardholderID)
	}
	if !p.Scope().CoversRegion(h.Profile.RegionCode) {
		return Issued{}, &httpapi.ScopeError{Code: httpapi.CodeScopeRegion, Scope: p.Scope()}
	}
	now := s.clock()
	// The channel's own standing first (bound, consented), so a channel
	// learns nothing of a card it has no business with.
	if !slices.Contains(h.ECardChannels, p.Channel) {
		return Issued{}, httpapi.NewProblem(http.StatusForbidden, CodeHolderNotBound, "the holder's e-card is not bound to this channel")
	}
	if !h.ConsentAllows(p.Channel, domain.ConsentIdentity, now) {
		return Issued{}, httpapi.NewProblem(http.StatusForbidden, CodeConsentRequired, "the holder has not consented to identity use by this channel")
	}
	if err := cardUsable(h); err != nil {
		return Issued{}, err
	}
	kid, priv, err := s.ring.Signer(ctx)
	if err != nil {
		return Issued{}, err
	}
	var id CodeID
	if _, err := rand.Read(id[:]); err != nil {
		return Issued{}, fmt.Errorf("ecard: code id: %w", err)
	}
	// Whole seconds, rounded down: a code never outlives its TTL.
	exp := now.Add(s.ttl).Truncate(time.Second).UTC()
	text, err := Encode(Claims{KeyID: kid, Expiry: exp, CodeID: id, CardNo: h.Card.CardNo, Channel: p.Channel}, priv)
	if err != nil {
		return Issued{}, err
	}
	q, err := NewQR(text)
	if err != nil {
		return Issued{}, err
	}
	img, media, err := q.Image(format)
	if err != nil {
		return Issued{}, err
	}
	if err := s.access.RecordAccess(ctx, Access{Request: r, CardholderID: h.ID, Scope: domain.ConsentIdentity,
		Operation: "code", At: now}); err != nil {
		return Issued{}, fmt.Errorf("ecard: record access: %w", err)
	}
	return Issued{Code: text, ExpiresAt: exp, Format: format, Image: img, MediaType: media, Version: q.Version()}, nil
}

// DataURL is the image as a data: URL.
func (i Issued) DataURL() string {
	return "data:" + i.MediaType + ";base64," + base64.StdEncoding.EncodeToString(i.Image)
}

func (s *Service) checkChannel(ctx context.Context, channel string) error {
	err := s.gate.Check(ctx, channel)
	if _, refused := err.(*httpapi.Problem); err != nil && !refused {
		return fmt.Errorf("ecard: channel %s: %w", channel, err)
	}
	return err
}

// cardUsable refuses a holder whose e-card does not work now: the card's
// status first (lost, temporarily lost, cancelled: the blacklist), then the
// e-card itself.
func cardUsable(h *domain.Cardholder) error {
	if h.Card == nil || h.Card.CardNo == "" {
		return httpapi.Conflict(CodeCardNotUsable, "the holder has no card")
	}
	if st := h.Card.Status; st != domain.StatusIssued && st != domain.StatusActive {
		return httpapi.Conflict(CodeCardNotUsable, fmt.Sprintf("the card is %s", st))
	}
	if !h.Card.ECardIssued {
		return httpapi.Conflict(CodeECardRevoked, "the holder's e-card is not issued or was revoked")
	}
	return nil
}

// Verified is a successful verification, as a terminal sees it.
type Verified struct {
	CardNo         string `json:"card_no"`
	Name           string `json:"name"`      // masked
	IDNumber       string `json:"id_number"` // masked
	CardStatus     string `json:"card_status"`
	Channel        string `json:"channel"`
	VerifiedAt     string `json:"verified_at"`
	VerificationID string `json:"verification_id"`
}

// Verify checks a code for a terminal: its form, signature and expiry,
// the channel, and the card's state now; then claims the code (once,
// across instances) and records the use.
func (s *Service) Verify(ctx context.Context, r Request, text string) (Verified, error) {
	p := r.Principal
	now := s.clock()
	c, h, err := s.checkCode(ctx, Parse, text, now)
	if err != nil {
		return Verified{}, err
	}
	vid := VerificationID(c.CodeID)
	if err := s.claim(ctx, c, vid, h.ID, p, now); err != nil {
		return Verified{}, err
	}
	region := p.Region
	if domain.ValidateRegionCode(region) != nil {
		region = h.Profile.RegionCode
	}
	u := domain.UsageInput{ID: UsageRecordID(c.CodeID), CardNo: c.CardNo, At: now.UTC().Format(time.RFC3339Nano),
		Kind: string(domain.UsageIdentityAuth), RegionCode: region, Merchant: p.Agency, Channel: string(domain.ChannelECardQR)}
	if err := s.usage.RecordUsage(ctx, u, domain.Actor{Client: p.Client, CertSubject: p.Subject}); err != nil {
		// Give the code back: the terminal may retry with it.
		if _, derr := s.pool.Exec(context.WithoutCancel(ctx), `DELETE FROM ecard.verifications WHERE code_id = $1`, c.CodeID[:]); derr != nil {
			err = errors.Join(err, derr)
		}
		return Verified{}, fmt.Errorf("ecard: record usage of code %s: %w", c.CodeID, err)
	}
	s.checkRisk(ctx, c, vid, h.ID, p, now)
	return Verified{CardNo: c.CardNo, Name: domain.MaskName(h.Profile.Name), IDNumber: domain.MaskIDNumber(h.Profile.IDNumber),
		CardStatus: string(h.Card.Status), Channel: c.Channel, VerifiedAt: now.UTC().Format(time.RFC3339), VerificationID: vid.String()}, nil
}

// claim inserts the code's verification row; a row already there is
// code_used, whoever verified it.
func (s *Service) claim(ctx context.Context, c Claims, vid uuid.UUID, holderID string, p httpapi.Principal, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `INSERT INTO ecard.verifications
		(code_id, verification_id, cardholder_id, card_no, channel, terminal, region, verified_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (code_id) DO NOTHING`,
		c.CodeID[:], vid, holderID, c.CardNo, c.Channel, p.Client, p.Region, now, c.Expiry)
	if err != nil {
		return fmt.Errorf("ecard: claim code %s: %w", c.CodeID, err)
	}
	if tag.RowsAffected() == 0 {
		return httpapi.Conflict(CodeUsed, "the code was verified already")
	}
	return nil
}

// checkRisk raises an alert when the holder's previous verification
// within the window was by a terminal of another prefecture: one alert per
// move between cities, not one for every code verified after it. The
// verification stands either way: a failure to alert is logged, not
// answered.
func (s *Service) checkRisk(ctx context.Context, c Claims, vid uuid.UUID, holderID string, p httpapi.Principal, now time.Time) {
	mine := domain.PrefectureOf(p.Region)
	if mine == "" {
		return
	}
	var prev uuid.UUID
	var region, terminal string
	var at time.Time
	err := s.pool.QueryRow(ctx, `SELECT verification_id, region, terminal, verified_at FROM ecard.verifications
		WHERE cardholder_id = $1 AND verified_at >= $2 AND verified_at <= $3 AND code_id <> $4 AND region <> ''
		ORDER BY verified_at DESC LIMIT 1`, holderID, now.Add(-s.window), now, c.CodeID[:]).Scan(&prev, &region, &terminal, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return
	}
	if err != nil {
		s.log.WithError(err).Warn("ecard: risk check")
		return
	}
	if pref := domain.PrefectureOf(region); pref == "" || pref == mine {
		return
	}
	a := RiskAlert{CardholderID: holderID, CardNo: c.CardNo, FirstRegion: region, SecondRegion: p.Region,
		FirstAt: at.UTC(), SecondAt: now.UTC(), FirstTerminal: terminal, SecondTerminal: p.Client,
		Key: prev.String() + "/" + vid.String()}
	if err := s.alerts.RaiseRiskAlert(context.WithoutCancel(ctx), a); err != nil {
		s.log.WithError(err).WithField("cardholder_id", holderID).Error("ecard: raise risk alert")
	}
}

var idSpace = uuid.MustParse("5b8f1f0e-6c1d-4f43-9a4e-ecad0c0de001")

// VerificationID derives a verification's id from its code's id.
func VerificationID(id CodeID) uuid.UUID {
	return uuid.NewSHA1(idSpace, append([]byte("verification:"), id[:]...))
}

// UsageRecordID is the usage record id of a code's verification: derived
// from the code id, so a retried record is stored once.
func UsageRecordID(id CodeID) string { return "ecard-" + id.String() }

// checkCode is what Verify and Redeem check alike: the code's form,
// signature and expiry (parse), its channel, and the card now — it exists,
// is the holder's current card, is usable, and the e-card is still bound
// to the code's channel. It answers the code's claims and the holder.
func (s *Service) checkCode(ctx context.Context, parse func(string, PublicKeys, time.Time) (Claims, error),
	text string, now time.Time) (Claims, *domain.Cardholder, error) {
	keys := s.ring.Verifier(ctx)
	c, err := parse(text, keys, now)
	if kerr := keys.Err(); kerr != nil {
		return Claims{}, nil, kerr // the keys could not be read: not the code's fault
	}
	switch {
	case errors.Is(err, ErrMalformed):
		return Claims{}, nil, httpapi.BadRequest(CodeMalformed, err.Error())
	case errors.Is(err, ErrBadSignature):
		return Claims{}, nil, httpapi.Unprocessable(CodeBadSignature, err.Error())
	case errors.Is(err, ErrExpired):
		return Claims{}, nil, httpapi.Unprocessable(CodeExpired, err.Error())
	case err != nil:
		return Claims{}, nil, err
	}
	if err := s.checkChannel(ctx, c.Channel); err != nil {
		return Claims{}, nil, err
	}
	holderID, err := s.holders.Resolve(ctx, c.CardNo)
	if err != nil {
		if de, ok := domain.AsError(err); ok && de.Kind == domain.KindNotFound {
			return Claims{}, nil, httpapi.Conflict(CodeCardNotUsable, "the card does not exist")
		}
		return Claims{}, nil, err
	}
	h, err := s.holders.Load(ctx, holderID)
	if err != nil {
		return Claims{}, nil, err
	}
	if h.Card == nil || h.Card.CardNo != c.CardNo {
		return Claims{}, nil, httpapi.Conflict(CodeCardNotUsable, "the card was replaced")
	}
	if err := cardUsable(h); err != nil {
		return Claims{}, nil, err
	}
	if !h.ECardBoundTo(c.Channel) {
		return Claims{}, nil, httpapi.NewProblem(http.StatusForbidden, CodeHolderNotBound, "the holder's e-card is no longer bound to the code's channel")
	}
	return c, h, nil
}
