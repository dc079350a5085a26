package pgstore

import (
	"context"
	"time"
)

// Why appends do not call pg_notify themselves: a transaction that NOTIFYs
// takes a cluster-wide lock at commit and holds it through the commit's WAL
// flush, so every notifying transaction commits one after another and group
// commit is lost; appends then top out at one per fsync. Instead a successful
// Append wakes this notifier, which sends one NOTIFY for however many appends
// happened meanwhile, in a transaction of its own that does not wait for its
// commit to be flushed (the notification is only a hint). An appender that
// dies between commit and notification delays subscribers by at most the
// poll interval.
//
// Under a steady stream of appends the notifier would otherwise send one
// NOTIFY (a transaction with an xid and a commit record) per append and hold
// a pool connection all the time: that cost a third of append throughput in
// BenchmarkAppend. So it sends at most one every notifyEvery; an append
// after a quiet spell is still announced at once.
const notifyEvery = 5 * time.Millisecond

// notifySQL is one short transaction; synchronous_commit is off for it only.
const notifySQL = `SELECT set_config('synchronous_commit', 'off', true), pg_notify('` + notifyChannel + `', '')`

// notifier sends coalesced notifications until stop is called.
type notifier struct {
	kick chan struct{}
	stop context.CancelFunc
	done chan struct{}
}

func startNotifier(q querier) *notifier {
	ctx, cancel := context.WithCancel(context.Background())
	n := &notifier{kick: make(chan struct{}, 1), stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(n.done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-n.kick:
			}
			// A failed notification only costs listeners a poll interval.
			_, _ = q.Exec(ctx, notifySQL)
			select {
			case <-ctx.Done():
				return
			case <-time.After(notifyEvery):
			}
		}
	}()
	return n
}

// appended records that events were committed; it never blocks.
func (n *notifier) appended() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

func (n *notifier) close() {
	n.stop()
	<-n.done
}
