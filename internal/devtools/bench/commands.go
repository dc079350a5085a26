package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// CommandResult summarises a command load run.
type CommandResult struct {
	Commands  int           // commands that succeeded
	Errors    int           // commands that failed
	Elapsed   time.Duration // wall time of the timed phase
	PerSecond float64       // succeeded commands per second
	P50       time.Duration
	P99       time.Duration
	Max       time.Duration
}

func (r CommandResult) String() string {
	return fmt.Sprintf("%d commands (%d errors) in %s: %.0f commands/s, p50 %s, p99 %s, max %s",
		r.Commands, r.Errors, r.Elapsed.Round(time.Millisecond), r.PerSecond,
		r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Max.Round(time.Microsecond))
}

// Commands is a load run's fixture: n cardholders, each with an active card.
// It uses its own random cardholder-id key, so its streams never collide
// with real ones or with an earlier run's on the same store.
type Commands struct {
	svc   *commands.Service
	cards []string
}

// NewCommands registers n cardholders and instantly issues each a card, with
// concurrency workers. This set-up is not part of any measurement.
func NewCommands(ctx context.Context, store eventstore.Store, n, concurrency int) (*Commands, error) {
	if n <= 0 || concurrency <= 0 {
		return nil, errors.New("bench: n and concurrency must be positive")
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	svc, err := commands.NewService(store, key, time.Now)
	if err != nil {
		return nil, err
	}
	b := &Commands{svc: svc, cards: make([]string, n)}
	err = parallel(ctx, n, concurrency, func(ctx context.Context, i int) error {
		actor := domain.Actor{Client: "bench"}
		id := benchIDNumber(i)
		reg, err := svc.Register.Handle(ctx, commands.Register{Envelope: commands.NewEnvelope(actor, "bench"), Cardholder: domain.RegisterCardholder{
			IDNumber: id, Name: fmt.Sprintf("压测%d", i), Nationality: "CHN", RegionCode: "440304",
		}})
		if err != nil {
			return fmt.Errorf("bench register %d: %w", i, err)
		}
		// The bench plays the bank counter: it sends the account and chip.
		res, err := svc.InstantIssue.Handle(ctx, commands.InstantIssue{Envelope: commands.NewEnvelope(actor, "bench"),
			CardholderID: reg.CardholderID, BankCode: "102",
			AccountNo: fmt.Sprintf("62122602%011d", i), ChipID: fmt.Sprintf("BE0C%028X", i)})
		if err != nil {
			return fmt.Errorf("bench instant issue %d: %w", i, err)
		}
		b.cards[i] = res.State.Card.CardNo
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// benchIDNumber is a valid, distinct ID number for i < 36500*1000.
func benchIDNumber(i int) string {
	birth := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i/1000)
	first := fmt.Sprintf("440304%s%03d", birth.Format("20060102"), i%1000)
	return first + string(domain.IDCheckChar(first))
}

// Cards returns the fixture's card numbers.
func (b *Commands) Cards() []string { return b.cards }

// LossUnlock reports every card lost and unlocks it again (2 commands per
// card), with concurrency workers on distinct cards, and measures each
// command. Cards end active, so it can run again.
func (b *Commands) LossUnlock(ctx context.Context, concurrency int) (CommandResult, error) {
	var (
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, 2*len(b.cards))
		failures  int
		firstErr  error
	)
	record := func(d time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failures++
			if firstErr == nil {
				firstErr = err
			}
			return
		}
		latencies = append(latencies, d)
	}
	start := time.Now()
	err := parallel(ctx, len(b.cards), concurrency, func(ctx context.Context, i int) error {
		loss, unlock, err := b.Pair(ctx, b.cards[i])
		record(loss, err)
		if err == nil {
			record(unlock, nil)
		}
		return ctx.Err()
	})
	elapsed := time.Since(start)
	if err != nil {
		return CommandResult{}, err
	}
	res := summarize(latencies, elapsed)
	res.Errors = failures
	if failures > 0 {
		return res, fmt.Errorf("bench: %d commands failed, first: %w", failures, firstErr)
	}
	return res, nil
}

// Pair reports one card lost and unlocks it, timing each command. The card
// must be active and nobody else may use it meanwhile.
func (b *Commands) Pair(ctx context.Context, cardNo string) (loss, unlock time.Duration, err error) {
	actor := domain.Actor{Client: "bench"}
	var took [2]time.Duration
	for i, cmd := range []domain.CardholderCommand{domain.ReportLoss{CardNo: cardNo, Reason: "bench"}, domain.UnlockCard{CardNo: cardNo}} {
		t0 := time.Now()
		if _, err := b.svc.Card.Handle(ctx, commands.CardCommand{Envelope: commands.NewEnvelope(actor, "bench"), CardNo: cardNo, Command: cmd}); err != nil {
			return 0, 0, fmt.Errorf("bench %s on %s: %w", cmd.CommandName(), cardNo, err)
		}
		took[i] = time.Since(t0)
	}
	return took[0], took[1], nil
}

// LossUnlock is the load command: n cardholders with active cards,
// then concurrent loss and unlock commands on distinct cards.
func LossUnlock(ctx context.Context, store eventstore.Store, n, concurrency int) (CommandResult, error) {
	b, err := NewCommands(ctx, store, n, concurrency)
	if err != nil {
		return CommandResult{}, err
	}
	return b.LossUnlock(ctx, concurrency)
}

func summarize(latencies []time.Duration, elapsed time.Duration) CommandResult {
	r := CommandResult{Commands: len(latencies), Elapsed: elapsed}
	if len(latencies) == 0 {
		return r
	}
	slices.Sort(latencies)
	at := func(q float64) time.Duration { return latencies[int(q*float64(len(latencies)-1))] }
	r.P50, r.P99, r.Max = at(0.50), at(0.99), latencies[len(latencies)-1]
	r.PerSecond = float64(len(latencies)) / elapsed.Seconds()
	return r
}

// parallel runs f for 0..n-1 on workers goroutines; it stops handing out
// work after the first error and returns it.
func parallel(ctx context.Context, n, workers int, f func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(ctx, i); err != nil {
					cancel(err)
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}
