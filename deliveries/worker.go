package deliveries

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// ProjectionName is the delivery projection's name (its lock and checkpoint).
const ProjectionName = "deliveries"

// Options tune delivery; zero fields take the defaults.
type Options struct {
	// MaxAttempts is how many calls an event gets before it is
	// dead-lettered (8).
	MaxAttempts int
	// Backoff is the pause after the first failed call; it doubles after
	// each further one (1s).
	Backoff time.Duration
	// MaxBackoff caps the pause (5m).
	MaxBackoff time.Duration
	// Timeout bounds one call, connection to answer (10s).
	Timeout time.Duration
	// AllowPrivate delivers to loopback and private addresses
	// (CARDLEDGER_DELIVERY_ALLOW_PRIVATE).
	AllowPrivate bool
	// Clock stamps the signature's timestamp (time.Now).
	Clock func() time.Time
	// Metrics counts calls and shows each subscription's lag (nil: none).
	Metrics *Metrics
}

func (o Options) withDefaults() Options {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	return o
}

// backoff is the pause after the n-th failed call (n ≥ 1).
func (o Options) backoff(n int) time.Duration {
	d := o.Backoff
	for i := 1; i < n && d < o.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, o.MaxBackoff)
}

// Projection delivers subscribed events; register it with a
// projections.Runner of its own (see the package doc).
type Projection struct {
	store  eventstore.Store
	repo   repo
	keys   *auth.SecretKeys
	opts   Options
	client *http.Client
	log    logrus.FieldLogger
}

// NewProjection delivers events of store to the subscriptions kept in pool,
// signed with their secrets opened with keys (the API's).
func NewProjection(store eventstore.Store, pool *pgxpool.Pool, keys *auth.SecretKeys, opts Options, log logrus.FieldLogger) *Projection {
	opts = opts.withDefaults()
	if log == nil {
		log = logrus.StandardLogger()
	}
	dialer := &net.Dialer{Timeout: opts.Timeout, Control: guardDial(opts.AllowPrivate)}
	client := &http.Client{
		Transport: &http.Transport{DialContext: dialer.DialContext, Proxy: nil, MaxIdleConnsPerHost: 4,
			IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: opts.Timeout, ResponseHeaderTimeout: opts.Timeout},
		// A redirect could point anywhere, a private address included: a
		// 3xx is a failed call.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Projection{store: store, repo: repo{pool}, keys: keys, opts: opts, client: client, log: log.WithField("module", "deliveries")}
}

// Name implements projections.Projection.
func (p *Projection) Name() string { return ProjectionName }

// Checkpoint implements projections.Projection: the end of the last batch
// every subscription reached.
func (p *Projection) Checkpoint(ctx context.Context) (eventstore.Position, error) {
	return p.repo.checkpoint(ctx, ProjectionName)
}

// Apply implements projections.Projection: every subscription is brought
// to the batch's end, each by its own worker, concurrently, so a slow
// receiver delays only the next batch of the others, never their order.
func (p *Projection) Apply(ctx context.Context, batch []eventstore.RecordedEvent) error {
	if len(batch) == 0 {
		return nil
	}
	end := batch[len(batch)-1].Position
	subs, err := p.repo.all(ctx)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(subs))
	for i, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.deliverUpTo(ctx, s, end); !errors.Is(err, errRewound) {
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return p.repo.setCheckpoint(ctx, ProjectionName, end)
}

// pageSize is the $all page a worker reads.
const pageSize = 500

// deliverUpTo reads $all from the subscription's checkpoint to end and
// delivers each matching event: call, then advance the checkpoint.
func (p *Projection) deliverUpTo(ctx context.Context, s Subscription, end eventstore.Position) error {
	pos := s.Position
	attempts := s.Attempts
	p.opts.Metrics.known(s.ID.String())
	for pos.Less(end) {
		events, err := p.store.ReadAll(ctx, pos, pageSize)
		if err != nil {
			return fmt.Errorf("deliveries: read $all after %s for %s: %w", pos, s.ID, err)
		}
		if len(events) == 0 {
			break
		}
		for _, ev := range events {
			if end.Less(ev.Position) {
				return p.repo.skipped(ctx, s, pos)
			}
			ok, h, err := p.matches(ctx, s, ev)
			if err != nil {
				return err
			}
			if ok {
				if err := p.deliver(ctx, s, ev, h, attempts); err != nil {
					return err
				}
				attempts = 0
			}
			pos = ev.Position
		}
	}
	return p.repo.skipped(ctx, s, pos)
}

// deliver calls the receiver until it answers 2xx or MaxAttempts calls
// failed (then the event is dead-lettered); either way the checkpoint
// moves past the event only afterwards.
func (p *Projection) deliver(ctx context.Context, s Subscription, ev eventstore.RecordedEvent, h *domain.Cardholder, attempts int) error {
	body, err := deliveryBody(s, ev, h)
	if err != nil {
		return err
	}
	target, err := p.target(ctx, s, ev)
	if err != nil {
		return err
	}
	// Not a failed call: an unknown key is this instance's configuration,
	// and the event waits for a fix instead of being dead-lettered.
	secret, err := p.keys.Open(s.secretLabel(), s.sealedSecret)
	if err != nil {
		return fmt.Errorf("deliveries: signing secret of %s: %w", s.ID, err)
	}
	sub := s.ID.String()
	p.opts.Metrics.onEvent(sub, ev.RecordedAt)
	defer p.opts.Metrics.onEvent(sub, time.Time{})
	for {
		callErr := p.post(ctx, string(secret), target, ev, body)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if callErr == nil {
			p.opts.Metrics.count(sub, OutcomeDelivered)
			return p.repo.delivered(ctx, s, ev.Position)
		}
		attempts++
		msg := callErr.Error()
		if attempts >= p.opts.MaxAttempts {
			p.log.WithFields(logrus.Fields{"subscription": s.ID, "event_id": ev.ID, "attempts": attempts}).
				WithError(callErr).Warn("deliveries: dead-lettered")
			p.opts.Metrics.count(sub, OutcomeDeadLettered)
			return p.repo.deadLetter(ctx, s, ev, attempts, msg)
		}
		p.opts.Metrics.count(sub, OutcomeFailed)
		if err := p.repo.failed(ctx, s, attempts, msg); err != nil {
			return err
		}
		select {
		case <-time.After(p.opts.backoff(attempts)):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Body is what a receiver gets (docs/deliveries.md).
type Body struct {
	EventID    string          `json:"event_id"`
	Type       string          `json:"type"`
	Stream     string          `json:"stream"`
	Revision   uint64          `json:"revision"`
	Position   string          `json:"position"`
	RecordedAt string          `json:"recorded_at"`
	Data       json.RawMessage `json:"data"`
}

func deliveryBody(s Subscription, ev eventstore.RecordedEvent, h *domain.Cardholder) ([]byte, error) {
	data := json.RawMessage(ev.Data)
	if !json.Valid(data) {
		data = json.RawMessage("null")
	} else if s.Merchant == "" {
		var err error
		if data, err = deliveredData(s, ev, h); err != nil {
			return nil, err
		}
	}
	b, err := json.Marshal(Body{EventID: ev.ID.String(), Type: ev.Type, Stream: ev.Stream, Revision: ev.Revision,
		Position: ev.Position.String(), RecordedAt: ev.RecordedAt.UTC().Format(time.RFC3339Nano), Data: data})
	if err != nil {
		return nil, fmt.Errorf("deliveries: encode %s: %w", ev.ID, err)
	}
	return b, nil
}

func (p *Projection) post(ctx context.Context, secret, target string, ev eventstore.RecordedEvent, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(p.opts.Clock().Unix(), 10)
	id := ev.ID.String()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "cardledger-deliveries/1")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderEventID, id)
	req.Header.Set(HeaderSignature, Sign(secret, ts, id, body))
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("receiver answered %d", resp.StatusCode)
	}
	return nil
}

// matches reports whether the subscription takes ev: its type is
// subscribed and, for a subscription with a region or bank, ev is in a
// cardholder stream whose holder (as of ev, returned) is registered in
// the region and whose card is at the bank. Anything not known to be the
// bank's is not sent to it, and a bank never gets a registration (see
// personal.go), also from a subscription stored before that rule.
func (p *Projection) matches(ctx context.Context, s Subscription, ev eventstore.RecordedEvent) (bool, *domain.Cardholder, error) {
	if !slices.Contains(s.EventTypes, ev.Type) {
		return false, nil, nil
	}
	if s.Merchant != "" {
		return merchantMatches(s, ev), nil, nil
	}
	if s.Bank != "" && slices.Contains(notForBanks, ev.Type) {
		return false, nil, nil
	}
	if s.Region == "" && s.Bank == "" {
		return true, nil, nil
	}
	id, ok := domain.CardholderIDOfStream(ev.Stream)
	if !ok {
		return false, nil, nil
	}
	stored, err := p.store.ReadStream(ctx, ev.Stream, 0, int(ev.Revision)+1)
	if err != nil {
		return false, nil, fmt.Errorf("deliveries: read %s to %d: %w", ev.Stream, ev.Revision, err)
	}
	h := domain.NewCardholder(id)
	for _, r := range stored {
		e, err := domain.DecodeStoredEvent(r.Type, r.Data, r.Metadata)
		if err != nil {
			continue // a type the cardholder does not fold changes neither region nor bank
		}
		h.Apply(e)
	}
	if s.Region != "" && (h.Profile.RegionCode == "" || !httpapi.RegionCovers(s.Region, h.Profile.RegionCode)) {
		return false, nil, nil
	}
	if s.Bank != "" && bankOf(h) != s.Bank {
		return false, nil, nil
	}
	return true, h, nil
}

// bankOf is the bank of the holder's current card, else of its last past
// card with one (a cancelled card stays its bank's).
func bankOf(h *domain.Cardholder) string {
	if h.Card != nil && h.Card.BankCode != "" {
		return h.Card.BankCode
	}
	for i := len(h.PastCards) - 1; i >= 0; i-- {
		if b := h.PastCards[i].BankCode; b != "" {
			return b
		}
	}
	return ""
}
