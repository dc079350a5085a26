package ecard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// Payer is the holder paying with the e-card, as the payment side needs
// it: whose card, at which bank, through which channel.
type Payer struct {
	CardholderID string
	CardNo       string
	BankCode     string
	Channel      string
	// CodeID is the payment code's id ("" when paid online); Release gives
	// the code back when the payment could not be decided.
	CodeID string
}

// IssuePayment makes a payment code (付款码) for the holder through the
// calling channel: the holder's e-card must be bound to the channel and
// usable. Asking the channel for a payment code is the holder's consent to
// pay; no identity consent is needed (nor given by it). The code has the
// identity code's layout and lifetime with another first byte, so neither
// kind passes for the other.
func (s *Service) IssuePayment(ctx context.Context, r Request, cardholderID, format string) (Issued, error) {
	h, err := s.channelHolder(ctx, r.Principal, cardholderID)
	if err != nil {
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
	exp := s.clock().Add(s.ttl).Truncate(time.Second).UTC()
	text, err := Encode(Claims{KeyID: kid, Expiry: exp, CodeID: id, CardNo: h.Card.CardNo, Channel: r.Principal.Channel, Payment: true}, priv)
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
	return Issued{Code: text, ExpiresAt: exp, Format: format, Image: img, MediaType: media, Version: q.Version()}, nil
}

// OnlinePayer is the holder confirming a payment in the calling channel's
// app: bound to the channel, with a usable e-card.
func (s *Service) OnlinePayer(ctx context.Context, r Request, cardholderID string) (Payer, error) {
	h, err := s.channelHolder(ctx, r.Principal, cardholderID)
	if err != nil {
		return Payer{}, err
	}
	return Payer{CardholderID: h.ID, CardNo: h.Card.CardNo, BankCode: h.Card.BankCode, Channel: r.Principal.Channel}, nil
}

func (s *Service) channelHolder(ctx context.Context, p httpapi.Principal, cardholderID string) (*domain.Cardholder, error) {
	if p.Channel == "" {
		return nil, httpapi.NewProblem(http.StatusForbidden, CodeNoChannel, "the client has no channel code (clients add --role channel --channel CODE)")
	}
	if err := s.checkChannel(ctx, p.Channel); err != nil {
		return nil, err
	}
	h, err := s.holders.Load(ctx, cardholderID)
	if err != nil {
		return nil, err
	}
	if !h.Registered {
		return nil, domain.NotFound(domain.CodeCardholderNotFound, "no cardholder %s", cardholderID)
	}
	if !p.Scope().CoversRegion(h.Profile.RegionCode) {
		return nil, &httpapi.ScopeError{Code: httpapi.CodeScopeRegion, Scope: p.Scope()}
	}
	if !h.ECardBoundTo(p.Channel) {
		return nil, httpapi.NewProblem(http.StatusForbidden, CodeHolderNotBound, "the holder's e-card is not bound to this channel")
	}
	if err := cardUsable(h); err != nil {
		return nil, err
	}
	return h, nil
}

// Redeem checks a payment code a merchant scanned, as Verify checks an
// identity code (form, signature, expiry, channel, the card now), and
// claims it: a payment code pays once. It records no usage: the payment
// order is the record.
func (s *Service) Redeem(ctx context.Context, r Request, text string) (Payer, error) {
	now := s.clock()
	c, h, err := s.checkCode(ctx, ParsePayment, text, now)
	if err != nil {
		return Payer{}, err
	}
	if err := s.claim(ctx, c, VerificationID(c.CodeID), h.ID, r.Principal, now); err != nil {
		return Payer{}, err
	}
	return Payer{CardholderID: h.ID, CardNo: c.CardNo, BankCode: h.Card.BankCode, Channel: c.Channel, CodeID: c.CodeID.String()}, nil
}

// Release gives back a redeemed payment code whose payment was not
// decided (the bank could not be reached), so the holder may show it again.
func (s *Service) Release(ctx context.Context, p Payer) error {
	if p.CodeID == "" {
		return nil
	}
	id, err := hex.DecodeString(p.CodeID)
	if err != nil || len(id) != codeIDLen {
		return fmt.Errorf("ecard: release code %q: not a code id", p.CodeID)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM ecard.verifications WHERE code_id = $1`, id); err != nil {
		return fmt.Errorf("ecard: release code %s: %w", p.CodeID, err)
	}
	return nil
}
