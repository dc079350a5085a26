package projections

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cardledger/cardledger/eventstore"
)

// fanout is the runner's one live subscription to $all, shared by every
// projection this process runs that has caught up with it. Each
// notification of an append used to wake one subscription per projection,
// each reading the same page of $all; now one read feeds them all. A
// projection still keeps its own lock, checkpoint and Apply transactions:
// the fanout only hands out events.
//
// A projection joins at its checkpoint. Joining needs no gap: the fanout
// has delivered events up to head, so a projection at or past head gets
// everything after its checkpoint from then on (events it already stored
// are not sent to it); one behind head catches up alone with ReadAll pages
// and tries again. A projection that does not take its events fast enough
// (its buffer is full) is dropped rather than allowed to stall the others:
// it applies what it received, catches up alone and rejoins.
type fanout struct {
	store eventstore.Store

	mu   sync.Mutex
	base context.Context // Run's; nil outside Run
	wg   sync.WaitGroup  // subscriptions started, so Run can wait for them
	run  *fanoutRun      // the subscription; nil while no projection follows it
	subs map[*liveFeed]struct{}
}

// fanoutRun is one SubscribeAll; a new one starts when a projection joins
// after the last one left.
type fanoutRun struct {
	head   eventstore.Position // the last event delivered, or the start
	cancel context.CancelFunc
}

// liveFeed is one projection's share of the fanout. events is closed when
// the projection is dropped or the subscription ends; err then says why
// (nil: dropped for being slow, catch up and rejoin).
type liveFeed struct {
	after  eventstore.Position // send only events after this
	events chan eventstore.RecordedEvent
	err    error
}

// errFanoutStopped ends a subscription that no projection follows any more.
var errFanoutStopped = errors.New("no projection follows the live subscription")

func newFanout(store eventstore.Store) *fanout {
	return &fanout{store: store, subs: map[*liveFeed]struct{}{}}
}

// start sets the context subscriptions run under; Run calls it first.
func (f *fanout) start(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.base = ctx
}

// wait returns once no subscription is running; Run calls it last, after
// every projection has left, so no read of the store outlives Run.
func (f *fanout) wait() { f.wg.Wait() }

// join adds a projection whose checkpoint is pos, with room for buffer
// undelivered events. ok is false when the fanout is already past pos: the
// projection must catch up alone first.
func (f *fanout) join(pos eventstore.Position, buffer int) (feed *liveFeed, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.run == nil {
		f.startRun(pos)
	} else if pos.Less(f.run.head) {
		return nil, false
	}
	feed = &liveFeed{after: pos, events: make(chan eventstore.RecordedEvent, buffer)}
	f.subs[feed] = struct{}{}
	return feed, true
}

// leave removes feed; the subscription stops when no one follows it.
func (f *fanout) leave(feed *liveFeed) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drop(feed, nil)
	if len(f.subs) == 0 && f.run != nil {
		f.run.cancel()
		f.run = nil
	}
}

// drop closes feed's events with err; f.mu is held.
func (f *fanout) drop(feed *liveFeed, err error) {
	if _, ok := f.subs[feed]; !ok {
		return
	}
	delete(f.subs, feed)
	feed.err = err
	close(feed.events)
}

// startRun subscribes after pos; f.mu is held.
func (f *fanout) startRun(pos eventstore.Position) {
	base := f.base
	if base == nil {
		base = context.Background()
	}
	ctx, cancel := context.WithCancel(base)
	run := &fanoutRun{head: pos, cancel: cancel}
	f.run = run
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer cancel()
		err := f.store.SubscribeAll(ctx, pos, func(ev eventstore.RecordedEvent) error {
			return f.deliver(run, ev)
		})
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.run != run {
			return // stopped by leave: nobody was following it
		}
		f.run = nil
		err = fmt.Errorf("live subscription after %s: %w", run.head, err)
		for feed := range f.subs {
			f.drop(feed, err)
		}
	}()
}

// deliver hands ev to every feed that has not stored it yet.
func (f *fanout) deliver(run *fanoutRun, ev eventstore.RecordedEvent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.run != run {
		return errFanoutStopped
	}
	run.head = ev.Position
	for feed := range f.subs {
		if !feed.after.Less(ev.Position) {
			continue
		}
		select {
		case feed.events <- ev:
		default:
			f.drop(feed, nil) // too slow: it catches up alone and rejoins
		}
	}
	return nil
}
