package notifications

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// ProjectionName is the notifier's name (its lock and checkpoint row).
const ProjectionName = "notifications"

// Sender delivers one message; an error is a failed attempt.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Options tune the notifier; zero fields take the defaults.
type Options struct {
	// MaxAttempts is how many sends a message gets before it is
	// dead-lettered (8).
	MaxAttempts int
	// Backoff is the pause after the first failed send, doubling after
	// each further one (1s), capped at MaxBackoff (5m).
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Metrics counts sends (nil: none).
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
	return o
}

// backoff is the pause after the n-th failed send (n ≥ 1).
func (o Options) backoff(n int) time.Duration {
	d := o.Backoff
	for i := 1; i < n && d < o.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, o.MaxBackoff)
}

// Projection is the notifier; register it with a projections.Runner.
type Projection struct {
	store   eventstore.Store
	repo    repo
	rules   Rules
	senders map[Medium]Sender
	opts    Options
	log     logrus.FieldLogger
}

// NewProjection notifies by the given senders (a nil one turns its medium
// off) the events of store, keeping its checkpoint in pool.
func NewProjection(store eventstore.Store, pool *pgxpool.Pool, rules Rules, sms, email Sender, opts Options, log logrus.FieldLogger) *Projection {
	if log == nil {
		log = logrus.StandardLogger()
	}
	senders := map[Medium]Sender{}
	rules.Media = nil
	if sms != nil {
		senders[SMS] = sms
		rules.Media = append(rules.Media, SMS)
	}
	if email != nil {
		senders[Email] = email
		rules.Media = append(rules.Media, Email)
	}
	return &Projection{store: store, repo: repo{pool: pool, name: ProjectionName}, rules: rules, senders: senders,
		opts: opts.withDefaults(), log: log.WithField("module", "notifications")}
}

// Name implements projections.Projection.
func (p *Projection) Name() string { return ProjectionName }

// Checkpoint implements projections.Projection.
func (p *Projection) Checkpoint(ctx context.Context) (eventstore.Position, error) {
	pr, err := p.repo.load(ctx)
	return pr.Position, err
}

// Apply implements projections.Projection: each event's messages in order,
// each sent before the checkpoint says so.
func (p *Projection) Apply(ctx context.Context, batch []eventstore.RecordedEvent) error {
	pr, err := p.repo.load(ctx)
	if err != nil {
		return err
	}
	for _, ev := range batch {
		if !pr.Position.Less(ev.Position) {
			continue
		}
		msgs, err := p.compose(ctx, ev)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Index < pr.Done {
				continue // sent or dead-lettered before a crash
			}
			if pr, err = p.send(ctx, ev, m.Index, m, pr); err != nil {
				return err
			}
		}
		pr = progress{Position: ev.Position, Sent: pr.Sent}
	}
	if len(batch) == 0 {
		return nil
	}
	return p.repo.store(ctx, p.repo.pool, pr)
}

// send calls the medium until it accepts message i (its Index) of ev or MaxAttempts
// calls failed (then the message is dead-lettered); either way the
// progress moves past the message only afterwards.
func (p *Projection) send(ctx context.Context, ev eventstore.RecordedEvent, i int, m Message, pr progress) (progress, error) {
	attempts := pr.Attempts
	for {
		err := p.senders[m.Medium].Send(ctx, m)
		if ctx.Err() != nil {
			return pr, ctx.Err()
		}
		if err == nil {
			p.opts.Metrics.count(m, OutcomeSent)
			next := progress{Position: pr.Position, Done: i + 1, Sent: pr.Sent + 1}
			p.log.WithFields(logrus.Fields{"event_id": ev.ID, "message": m.ID, "kind": m.Kind, "medium": m.Medium,
				"attempts": attempts + 1}).Info("notifications: sent")
			return next, p.repo.store(ctx, p.repo.pool, next)
		}
		attempts++
		// A mail server's refusal may quote the address: the stored and
		// logged error never holds it.
		msg := strings.ReplaceAll(err.Error(), m.To, "<recipient>")
		fields := logrus.Fields{"event_id": ev.ID, "message": m.ID, "kind": m.Kind, "medium": m.Medium, "attempts": attempts}
		if attempts >= p.opts.MaxAttempts {
			p.opts.Metrics.count(m, OutcomeDeadLettered)
			p.log.WithFields(fields).WithField("error", msg).Warn("notifications: dead-lettered")
			next := progress{Position: pr.Position, Done: i + 1, Sent: pr.Sent}
			return next, p.repo.deadLetter(ctx, ev, i, m, attempts, msg, next)
		}
		p.opts.Metrics.count(m, OutcomeFailed)
		p.log.WithFields(fields).WithField("error", msg).Info("notifications: send failed, retrying")
		pr = progress{Position: pr.Position, Done: i, Attempts: attempts, LastError: msg, Sent: pr.Sent}
		if err := p.repo.store(ctx, p.repo.pool, pr); err != nil {
			return pr, err
		}
		select {
		case <-time.After(p.opts.backoff(attempts)):
		case <-ctx.Done():
			return pr, ctx.Err()
		}
	}
}

// compose reads what the rules need: the holder's stream as it is now for a
// cardholder event (recipients, opt-out, erasure are those of sending
// time), the batch id for a batch event.
func (p *Projection) compose(ctx context.Context, ev eventstore.RecordedEvent) ([]Message, error) {
	if !Relevant(ev.Type) {
		return nil, nil
	}
	if batchID, ok := domain.BatchIDOfStream(ev.Stream); ok {
		e, err := domain.DecodeStoredBatchEvent(ev.Type, ev.Data, ev.Metadata)
		if err != nil {
			return nil, fmt.Errorf("notifications: decode %s %s: %w", ev.Type, ev.ID, err)
		}
		return p.rules.Compose(ev.ID.String(), e, nil, batchID), nil
	}
	id, ok := domain.CardholderIDOfStream(ev.Stream)
	if !ok {
		return nil, nil
	}
	e, err := domain.DecodeStoredEvent(ev.Type, ev.Data, ev.Metadata)
	if err != nil {
		return nil, fmt.Errorf("notifications: decode %s %s: %w", ev.Type, ev.ID, err)
	}
	h, err := p.holder(ctx, ev.Stream, id)
	if err != nil {
		return nil, err
	}
	return p.rules.Compose(ev.ID.String(), e, h, ""), nil
}

// holder folds the whole stream; types the cardholder does not fold are
// skipped, as they change nothing it needs.
func (p *Projection) holder(ctx context.Context, stream, id string) (*domain.Cardholder, error) {
	h := domain.NewCardholder(id)
	var from uint64
	for {
		stored, err := p.store.ReadStream(ctx, stream, from, 1000)
		if err != nil {
			return nil, fmt.Errorf("notifications: read %s: %w", stream, err)
		}
		for _, r := range stored {
			e, err := domain.DecodeStoredEvent(r.Type, r.Data, r.Metadata)
			if err != nil {
				continue
			}
			h.Apply(e)
		}
		if len(stored) < 1000 {
			return h, nil
		}
		from = stored[len(stored)-1].Revision + 1
	}
}
