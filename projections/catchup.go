package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cardledger/cardledger/eventstore"
)

// catchUpToPage is how many events CatchUpTo reads per round trip.
const catchUpToPage = 1000

// catchUpToPoll is how long CatchUpTo waits for pos to show up in $all.
const catchUpToPoll = 10 * time.Millisecond

// CatchUpTo applies events to p, reading them from store itself, until p has
// stored pos: for a caller that must have p past pos before it answers,
// whether or not a runner follows p right now (the erasure command brings
// every read model that keeps personal data past the erasure this way).
// It is safe next to the runner and to itself: Apply skips what its
// checkpoint already covers, so whoever applies an event first stores it
// and the others skip it.
func CatchUpTo(ctx context.Context, store eventstore.Store, p Projection, pos eventstore.Position) error {
	err := catchUpTo(ctx, store, p, pos)
	if err != nil && ctx.Err() != nil && !errors.Is(err, ErrNotCaughtUp) {
		// The deadline, not the store, ended a read or write (drivers
		// report it as their own timeout): the position was not reached.
		return fmt.Errorf("%w: %w", ErrNotCaughtUp, err)
	}
	return err
}

func catchUpTo(ctx context.Context, store eventstore.Store, p Projection, pos eventstore.Position) error {
	var applied *eventstore.Position // the checkpoint before the last Apply
	for {
		cp, err := p.Checkpoint(ctx)
		if err != nil {
			return fmt.Errorf("catch %s up to %s: %w", p.Name(), pos, err)
		}
		if !cp.Less(pos) {
			return nil
		}
		if applied != nil && *applied == cp {
			return fmt.Errorf("catch %s up to %s: Apply did not move the checkpoint from %s", p.Name(), pos, cp)
		}
		page, err := store.ReadAll(ctx, cp, catchUpToPage)
		if err != nil {
			return fmt.Errorf("catch %s up to %s: read after %s: %w", p.Name(), pos, cp, err)
		}
		if len(page) == 0 {
			// $all may not show a commit yet while an older transaction
			// is still open in the cluster: wait for it.
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w: %s is at %s, wanted %s: %w", ErrNotCaughtUp, p.Name(), cp, pos, ctx.Err())
			case <-time.After(catchUpToPoll):
			}
			continue
		}
		if err := p.Apply(ctx, page); err != nil {
			return fmt.Errorf("catch %s up to %s: apply %d events after %s: %w", p.Name(), pos, len(page), cp, err)
		}
		applied = &cp
	}
}
