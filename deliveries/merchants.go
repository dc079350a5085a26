package deliveries

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// Merchant notifications. A payment merchant's notifications are a
// subscription of this outbox like a bank's, so they get its signature,
// order, at-least-once delivery, retry schedule, dead letters and
// redelivery unchanged. What differs:
//   - the subscription is the merchant's own (MerchantSubscriptionID), made
//     when the merchant registers, with the merchant's order event types;
//   - it takes only the order events of that merchant (the merchant_id
//     every order event carries);
//   - each event is POSTed to its order's notify_url (the order's first
//     event), not to one URL of the subscription.
//
// Order is per merchant: a failing receiver holds back the merchant's next
// notifications for at most one retry schedule, never another merchant's.

// MerchantEventTypes are the order events a merchant is notified of: the
// order's outcomes, not its creation (which the merchant asked for).
var MerchantEventTypes = []string{domain.TypePaymentOrderPaid, domain.TypePaymentOrderFailed,
	domain.TypePaymentOrderClosed, domain.TypePaymentOrderRefunded}

// merchantNamespace makes merchant ids into subscription ids; never change it.
var merchantNamespace = uuid.MustParse("9a4f3d2e-6b1c-4e8a-b7d5-0c2f1e3a4b5d")

// MerchantSubscriptionID is the subscription of the merchant's notifications.
func MerchantSubscriptionID(merchantID string) uuid.UUID {
	return uuid.NewSHA1(merchantNamespace, []byte(merchantID))
}

// CheckReceiverURL is the check a subscription's URL passes, for URLs
// given elsewhere (an order's notify_url): "" when allowed, else a problem
// code (invalid_value, receiver_not_public) and a message.
func CheckReceiverURL(ctx context.Context, raw string, allowPrivate bool) (code, msg string) {
	return checkReceiverURL(ctx, raw, allowPrivate)
}

// EnsureMerchant makes the merchant's subscription, starting at the head
// of the log, if it has none; created says it did, and only then is the
// secret returned (shown once).
func (a *API) EnsureMerchant(ctx context.Context, merchantID, owner string) (secret string, created bool, err error) {
	head, ok, err := a.store.Head(ctx)
	if err != nil {
		return "", false, err
	}
	start := eventstore.Start
	if ok {
		start = head.Position
	}
	s := Subscription{ID: MerchantSubscriptionID(merchantID), Owner: owner, EventTypes: MerchantEventTypes,
		Merchant: merchantID, Position: start}
	secret, s.sealedSecret, err = newSecret(a.keys, s.secretLabel())
	if err != nil {
		return "", false, err
	}
	created, err = a.repo.insert(ctx, s)
	if err != nil || !created {
		return "", false, err
	}
	return secret, true, nil
}

// RotateMerchantSecret replaces the merchant's signing secret (making the
// subscription if it is missing) and returns the new one.
func (a *API) RotateMerchantSecret(ctx context.Context, merchantID, owner string) (string, error) {
	if secret, created, err := a.EnsureMerchant(ctx, merchantID, owner); err != nil || created {
		return secret, err
	}
	id := MerchantSubscriptionID(merchantID)
	return a.replaceSecret(ctx, id, secretLabel(id, merchantID))
}

// MerchantStatus is the merchant's delivery status (ErrNotFound without one).
func (a *API) MerchantStatus(ctx context.Context, merchantID string) (Status, error) {
	return a.statusOf(ctx, MerchantSubscriptionID(merchantID))
}

// MerchantDeadLetters lists the merchant's notifications given up on.
func (a *API) MerchantDeadLetters(ctx context.Context, merchantID string) (DeadLetters, error) {
	dead, err := a.repo.deadLetters(ctx, MerchantSubscriptionID(merchantID))
	if err != nil {
		return DeadLetters{}, err
	}
	return deadLetterViews(dead), nil
}

// RedeliverMerchant moves the merchant's position back to from: every
// notification after it is sent again, under the same event ids.
func (a *API) RedeliverMerchant(ctx context.Context, merchantID string, from eventstore.Position) (Status, error) {
	id := MerchantSubscriptionID(merchantID)
	if _, err := a.repo.get(ctx, id); err != nil {
		return Status{}, err
	}
	if err := a.repo.rewind(ctx, id, from); err != nil {
		return Status{}, err
	}
	return a.statusOf(ctx, id)
}

// merchantMatches: an order event of the subscription's merchant.
func merchantMatches(s Subscription, ev eventstore.RecordedEvent) bool {
	if !strings.HasPrefix(ev.Stream, domain.PaymentOrderStreamPrefix) {
		return false
	}
	var of struct {
		MerchantID string `json:"merchant_id"`
	}
	return json.Unmarshal(ev.Data, &of) == nil && of.MerchantID == s.Merchant
}

// target is where the event goes: the subscription's URL, or for a
// merchant the order's notify_url ("" if the order has none: every call
// fails and the event is dead-lettered, rather than holding up the rest).
func (p *Projection) target(ctx context.Context, s Subscription, ev eventstore.RecordedEvent) (string, error) {
	if s.Merchant == "" {
		return s.URL, nil
	}
	first, err := p.store.ReadStream(ctx, ev.Stream, 0, 1)
	if err != nil {
		return "", fmt.Errorf("deliveries: read %s: %w", ev.Stream, err)
	}
	var created struct {
		NotifyURL string `json:"notify_url"`
	}
	if len(first) > 0 {
		_ = json.Unmarshal(first[0].Data, &created)
	}
	return created.NotifyURL, nil
}
