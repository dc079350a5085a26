package projections

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/eventstore"
)

// Options tune a Runner; zero fields take the defaults.
type Options struct {
	// MaxBatch is the most events handed to one Apply while live (2000).
	MaxBatch int
	// Linger is how long a live batch waits for more events after its
	// first (5ms; serve and project: CARDLEDGER_PROJECTION_LINGER).
	Linger time.Duration
	// LingerIdle, when set and shorter than Linger, closes a live batch
	// that is still one event LingerIdle after it began: a lone event (a
	// quiet system) is applied after LingerIdle, and only a batch to which
	// events keep coming (load) waits the whole Linger (0: every batch
	// waits Linger).
	LingerIdle time.Duration
	// PageSize is the ReadAll page during catch-up and rebuild; each page
	// is one Apply (5000).
	PageSize int
	// LockPoll is how often a standby instance retries the lock (1s).
	LockPoll time.Duration
	// LockCheck is how often the active instance checks that its lock
	// connection is alive (2s).
	LockCheck time.Duration
	// Retry is the pause after a failed run before trying again (1s).
	Retry time.Duration
	// ReadyLag is the lag in seconds above which Ready reports not ready (30s).
	ReadyLag time.Duration
}

func (o Options) withDefaults() Options {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 2000
	}
	if o.Linger <= 0 {
		o.Linger = 5 * time.Millisecond
	}
	if o.PageSize <= 0 {
		o.PageSize = 5000
	}
	if o.LockPoll <= 0 {
		o.LockPoll = time.Second
	}
	if o.LockCheck <= 0 {
		o.LockCheck = 2 * time.Second
	}
	if o.Retry <= 0 {
		o.Retry = time.Second
	}
	if o.ReadyLag <= 0 {
		o.ReadyLag = 30 * time.Second
	}
	return o
}

// Runner runs projections against a store. The pool is used for the
// advisory locks and change notifications, so it must be the PostgreSQL
// database that coordinates instances (the read-model database).
type Runner struct {
	store   eventstore.Store
	pool    *pgxpool.Pool
	log     logrus.FieldLogger
	opts    Options
	changed *signal

	mu      sync.Mutex
	entries []*entry
}

// entry is the runner's view of one projection in this process.
type entry struct {
	p    Projection
	opts *Options // nil: the runner's

	mu       sync.Mutex
	active   bool // this process holds the projection's lock
	known    bool // position is the checkpoint of this active run
	position eventstore.Position
	applied  uint64 // events
	batches  uint64 // Apply calls that returned, one transaction each
	lastErr  error
}

// NewRunner returns a Runner with default Options and no projections.
func NewRunner(store eventstore.Store, pool *pgxpool.Pool, log logrus.FieldLogger) *Runner {
	if log == nil {
		log = logrus.StandardLogger()
	}
	return &Runner{store: store, pool: pool, log: log, opts: Options{}.withDefaults(), changed: newSignal()}
}

// WithOptions sets the options; call it before Run.
func (r *Runner) WithOptions(o Options) *Runner {
	r.opts = o.withDefaults()
	return r
}

// Add registers projections; call it before Run.
func (r *Runner) Add(ps ...Projection) *Runner {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range ps {
		r.entries = append(r.entries, &entry{p: p})
	}
	return r
}

// AddWithOptions registers projections that batch differently from the
// runner's default (the ClickHouse projection wants few, large inserts),
// while sharing its lag metrics, readiness and read-your-writes.
func (r *Runner) AddWithOptions(o Options, ps ...Projection) *Runner {
	o = o.withDefaults()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range ps {
		r.entries = append(r.entries, &entry{p: p, opts: &o})
	}
	return r
}

// optionsOf is the options e runs with.
func (r *Runner) optionsOf(e *entry) Options {
	if e.opts != nil {
		return *e.opts
	}
	return r.opts
}

// Names lists the registered projections in registration order.
func (r *Runner) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, len(r.entries))
	for i, e := range r.entries {
		names[i] = e.p.Name()
	}
	return names
}

func (r *Runner) entry(name string) (*entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.entries {
		if e.p.Name() == name {
			return e, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownProjection, name)
}

func (r *Runner) all() []*entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*entry(nil), r.entries...)
}

// Changed returns a channel closed at the next applied batch of any
// projection, in this process or (through NOTIFY) another one.
func (r *Runner) Changed() <-chan struct{} { return r.changed.wait() }

// Run keeps every registered projection running until ctx ends: waiting for
// its lock, catching up, following live, and starting over after errors.
// It returns ctx.Err().
func (r *Runner) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		listen(ctx, r.pool, r.changed, r.log)
	}()
	for _, e := range r.all() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.keepRunning(ctx, e)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

func (r *Runner) keepRunning(ctx context.Context, e *entry) {
	log := r.log.WithField("projection", e.p.Name())
	for ctx.Err() == nil {
		lock, err := acquireLock(ctx, r.pool, e.p.Name(), r.optionsOf(e).LockPoll)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.failed(ctx, e, log, err)
			continue
		}
		log.Info("projection: lock acquired, this instance is active")
		e.setActive(true)
		err = r.runLocked(ctx, e, lock)
		e.setActive(false)
		lock.release()
		if ctx.Err() != nil {
			return
		}
		r.failed(ctx, e, log, err)
	}
}

func (r *Runner) failed(ctx context.Context, e *entry, log logrus.FieldLogger, err error) {
	e.mu.Lock()
	e.lastErr = err
	e.mu.Unlock()
	log.WithError(err).Error("projection: run failed; retrying")
	select {
	case <-time.After(r.optionsOf(e).Retry):
	case <-ctx.Done():
	}
}

// runLocked follows the log while the lock connection is healthy.
func (r *Runner) runLocked(ctx context.Context, e *entry, lock *projectionLock) error {
	ctx, cancel := context.WithCancelCause(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		if err := lock.watch(ctx, r.optionsOf(e).LockCheck); err != nil && ctx.Err() == nil {
			cancel(err)
		}
	}()
	err := r.follow(ctx, e)
	cause := context.Cause(ctx)
	// The caller releases the lock on the lock's connection next, and a
	// pgx.Conn is for one goroutine at a time: the check must be over.
	cancel(nil)
	<-watched
	if cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

// follow recovers the projection's storage if it needs to, catches up with
// pages, then applies live events in batches. It runs only while this
// process holds the projection's lock.
func (r *Runner) follow(ctx context.Context, e *entry) error {
	var pos eventstore.Position
	var err error
	if rec, ok := e.p.(Recoverer); ok {
		if pos, err = rec.Recover(ctx); err != nil {
			return fmt.Errorf("recover: %w", err)
		}
	} else if pos, err = e.p.Checkpoint(ctx); err != nil {
		return fmt.Errorf("read checkpoint: %w", err)
	}
	e.setPosition(pos, 0)
	pos, _, err = r.catchUp(ctx, e.p, r.optionsOf(e).PageSize, pos, func(batch []eventstore.RecordedEvent) {
		e.setPosition(batch[len(batch)-1].Position, len(batch))
		r.changed.fire()
	})
	if err != nil {
		return err
	}
	return r.live(ctx, e, pos)
}

// catchUpTimes splits catch-up time into waiting for pages and applying them.
type catchUpTimes struct {
	readWait, apply time.Duration
}

// catchUp applies ReadAll pages until a short page says the head is near.
// The next page is read while the current one is applied.
func (r *Runner) catchUp(ctx context.Context, p Projection, pageSize int, after eventstore.Position,
	applied func([]eventstore.RecordedEvent)) (eventstore.Position, catchUpTimes, error) {
	var times catchUpTimes
	type page struct {
		events []eventstore.RecordedEvent
		err    error
	}
	ctx, cancel := context.WithCancel(ctx)
	pages := make(chan page, 1)
	read := make(chan struct{})
	// The reader ends before catchUp returns, so that no read of the store
	// outlives Run (its caller may close the store next).
	defer func() { cancel(); <-read }()
	go func() {
		defer close(read)
		defer close(pages)
		from := after
		for {
			events, err := r.store.ReadAll(ctx, from, pageSize)
			select {
			case pages <- page{events, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || len(events) < pageSize {
				return
			}
			from = events[len(events)-1].Position
		}
	}()
	for {
		waited := time.Now()
		pg, ok := <-pages
		times.readWait += time.Since(waited)
		if !ok {
			break
		}
		if pg.err != nil {
			return after, times, fmt.Errorf("catch up after %s: %w", after, pg.err)
		}
		if len(pg.events) == 0 {
			break
		}
		started := time.Now()
		if err := p.Apply(ctx, pg.events); err != nil {
			return after, times, fmt.Errorf("apply %d events after %s: %w", len(pg.events), after, err)
		}
		times.apply += time.Since(started)
		after = pg.events[len(pg.events)-1].Position
		if applied != nil {
			applied(pg.events)
		}
	}
	return after, times, ctx.Err()
}

// live subscribes after pos and applies events in batches of up to
// MaxBatch, each closed Linger after its first event, or LingerIdle after
// it when it is still that one event.
func (r *Runner) live(ctx context.Context, e *entry, pos eventstore.Position) error {
	ctx, cancel := context.WithCancel(ctx)
	events := make(chan eventstore.RecordedEvent, 2*r.optionsOf(e).MaxBatch)
	subErr := make(chan error, 1)
	subscribed := make(chan struct{})
	defer func() { cancel(); <-subscribed }() // no subscription outlives Run
	go func() {
		defer close(subscribed)
		subErr <- r.store.SubscribeAll(ctx, pos, func(ev eventstore.RecordedEvent) error {
			select {
			case events <- ev:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	opts := r.optionsOf(e)
	linger := time.NewTimer(opts.Linger)
	defer linger.Stop()
	idleAfter := opts.LingerIdle
	if idleAfter >= opts.Linger {
		idleAfter = 0
	}
	idle := time.NewTimer(time.Hour)
	idle.Stop()
	defer idle.Stop()
	batch := make([]eventstore.RecordedEvent, 0, opts.MaxBatch)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-subErr:
			return fmt.Errorf("subscribe after %s: %w", pos, err)
		case ev := <-events:
			batch = append(batch, ev)
		}
		linger.Reset(opts.Linger)
		var idleC <-chan time.Time
		if idleAfter > 0 {
			idle.Reset(idleAfter)
			idleC = idle.C
		}
	fill:
		for len(batch) < opts.MaxBatch {
			select {
			case ev := <-events:
				batch = append(batch, ev)
			case <-linger.C:
				break fill
			case <-idleC:
				// A lone event goes now; once a second one came, events
				// keep coming and the batch waits out the linger.
				if len(batch) == 1 {
					break fill
				}
				idleC = nil
			}
		}
		if err := ApplySelective(ctx, e.p, batch); err != nil {
			return fmt.Errorf("apply %d events after %s: %w", len(batch), pos, err)
		}
		pos = batch[len(batch)-1].Position
		e.setPosition(pos, len(batch))
		r.changed.fire()
	}
}

// ApplySelective applies batch to p, or, if p is Selective and uses none of
// its events, only moves its checkpoint (one statement, no checkpoint
// lock). The runner applies live batches with it; a writer catching a
// projection up outside the runner (batch.ReadModel.CatchUp) should too, so
// that it does not hold the checkpoint's lock against the runner for
// events neither uses.
func ApplySelective(ctx context.Context, p Projection, batch []eventstore.RecordedEvent) error {
	sel, ok := p.(Selective)
	if !ok {
		return p.Apply(ctx, batch)
	}
	for _, ev := range batch {
		if sel.Uses(ev) {
			return p.Apply(ctx, batch)
		}
	}
	return sel.Advance(ctx, batch[len(batch)-1].Position)
}

func (e *entry) setActive(active bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.active, e.known = active, false
	if active {
		e.lastErr = nil
	}
}

func (e *entry) setPosition(pos eventstore.Position, applied int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.position, e.known = pos, true
	e.applied += uint64(applied)
	if applied > 0 {
		e.batches++
	}
}

// checkpoint is the projection's checkpoint: from memory while this process
// runs it (updated after each commit), else, and while the run is still
// recovering, from its storage (Checkpoint only reads).
func (e *entry) checkpoint(ctx context.Context) (eventstore.Position, error) {
	e.mu.Lock()
	known, pos := e.active && e.known, e.position
	e.mu.Unlock()
	if known {
		return pos, nil
	}
	return e.p.Checkpoint(ctx)
}

// WaitFor waits until every registered projection has stored pos (or moved
// past it), or ctx ends (then an error wrapping ErrNotCaughtUp).
func (r *Runner) WaitFor(ctx context.Context, pos eventstore.Position) error {
	for _, e := range r.all() {
		if err := r.waitEntry(ctx, e, pos); err != nil {
			return err
		}
	}
	return nil
}

// WaitForProjection is WaitFor for one projection.
func (r *Runner) WaitForProjection(ctx context.Context, name string, pos eventstore.Position) error {
	e, err := r.entry(name)
	if err != nil {
		return err
	}
	return r.waitEntry(ctx, e, pos)
}

// waitPoll bounds the wait when the projection runs in another process and
// a notification is missed.
const waitPoll = 50 * time.Millisecond

func (r *Runner) waitEntry(ctx context.Context, e *entry, pos eventstore.Position) error {
	for {
		// Take the wake-up channel before reading the checkpoint so an
		// apply in between is not missed.
		wake := r.changed.wait()
		cp, err := e.checkpoint(ctx)
		if err != nil {
			if expired(ctx) {
				return fmt.Errorf("%w: %s at %s: %w", ErrNotCaughtUp, e.p.Name(), pos, ctx.Err())
			}
			return fmt.Errorf("wait for %s: %w", e.p.Name(), err)
		}
		if !cp.Less(pos) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s is at %s, wanted %s", ErrNotCaughtUp, e.p.Name(), cp, pos)
		case <-wake:
		case <-time.After(waitPoll):
		}
	}
}

// expired reports whether ctx is done or past its deadline. A driver that
// turns the deadline into a socket timeout (ClickHouse's) can fail a read
// an instant before ctx.Err reports it; that is still running out of time.
func expired(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}
