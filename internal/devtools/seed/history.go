package seed

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// HistoryOptions shape the synthetic history History writes.
type HistoryOptions struct {
	// Key derives cardholder ids (domain.CardholderIDFor); nil uses a fixed test key.
	Key []byte
	// First is the index of the first person, so several seeds can add up.
	First int
	// Concurrency is the number of parallel appenders (4).
	Concurrency int
	// Batch is how many people one append carries when the store is an
	// eventstore.MultiAppender (100): one transaction and one commit for
	// all of them instead of one each, which is what makes seeding a large
	// store fast. 1 appends person by person.
	Batch int
	// Listed makes every person's card end lost, so all are on the blacklist.
	Listed bool
	// Progress is told of every person appended (phase "card lifecycles").
	Progress Progress
}

// HistoryResult tells what History appended.
type HistoryResult struct {
	Events int
	Last   eventstore.Position // wait for this position to see every seeded event
}

// HistoryKey is the cardholder-id key History uses when none is given.
var HistoryKey = []byte("cardledger-seed-key")

// History writes the lifecycles of persons cardholders through the one
// write path (commands.Pipeline.CreateMany, or Create), bypassing the
// command handlers: registration, application, account, number,
// production, handover, issue and activation, then (varying by person) a
// production failure first, a loss, a temporary loss and unlock, a
// cancellation, or a replacement. Each person is a new stream created in
// one piece by a command of its own (random id, so seeding a person twice
// fails on the existing stream), its events occurring a second apart from
// the person's simulated time (Born); the pipeline applies them, so a lifecycle the
// domain could not replay fails the seed. A store that appends many
// streams at once (eventstore.MultiAppender) gets Batch people per call,
// any other store one per call, with the same events either way. It
// reports the number of events written (about 10 per person, so 100,000
// persons give about a million) and the greatest position appended.
func History(ctx context.Context, store eventstore.Store, persons int, opts HistoryOptions) (HistoryResult, error) {
	if opts.Key == nil {
		opts.Key = HistoryKey
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.Batch <= 0 {
		opts.Batch = 100
	}
	if opts.Progress == nil {
		opts.Progress = NoProgress{}
	}
	p, err := commands.NewPipeline(domain.Cardholders, store, time.Now)
	if err != nil {
		return HistoryResult{}, err
	}
	if !p.CreatesManyAtOnce() {
		opts.Batch = 1
	}
	var (
		next    atomic.Int64
		written atomic.Int64
		single  atomic.Bool // the store said it cannot AppendMany: create one by one
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
		lastMu  sync.Mutex
		last    eventstore.Position
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fail := func(from, to int, err error) {
		errOnce.Do(func() {
			if to-from == 1 {
				first = fmt.Errorf("seed person %d: %w", opts.First+from, err)
			} else {
				first = fmt.Errorf("seed persons %d to %d: %w", opts.First+from, opts.First+to-1, err)
			}
			cancel()
		})
	}
	done := func(outs ...commands.Outcome[*domain.Cardholder]) {
		lastMu.Lock()
		defer lastMu.Unlock()
		for _, out := range outs {
			written.Add(int64(len(out.Events)))
			if last.Less(out.Position) {
				last = out.Position
			}
		}
	}
	opts.Progress.Phase("card lifecycles", persons)
	defer opts.Progress.Finish()
	for range opts.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				from := int(next.Add(int64(opts.Batch))) - opts.Batch
				if from >= persons || ctx.Err() != nil {
					return
				}
				to := min(from+opts.Batch, persons)
				starts := make([]commands.Start[*domain.Cardholder], 0, to-from)
				for i := from; i < to; i++ {
					starts = append(starts, lifecycleStart(opts.Key, opts.First+i, opts.Listed))
				}
				if opts.Batch > 1 && !single.Load() {
					outs, err := p.CreateMany(ctx, starts)
					if err == nil {
						done(outs...)
						opts.Progress.Add(to - from)
						continue
					}
					if !errors.Is(err, eventstore.ErrAppendManyUnsupported) {
						fail(from, to, err)
						return
					}
					single.Store(true)
				}
				for k, st := range starts {
					out, err := p.Create(ctx, st)
					if err != nil {
						fail(from+k, from+k+1, err)
						return
					}
					done(out)
					opts.Progress.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return HistoryResult{Events: int(written.Load()), Last: last}, first
}

// Born is when synthetic person i's lifecycle began: a minute per person
// from 2024-01-01 08:00 UTC. Its k-th event occurred k seconds later.
func Born(i int) time.Time {
	return time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
}

// lifecycleStart is the command that creates person i's stream: Lifecycle's
// events, decided on the new cardholder, by client and channel "seed".
func lifecycleStart(key []byte, i int, listed bool) commands.Start[*domain.Cardholder] {
	stream, events := Lifecycle(key, i, listed)
	id, _ := domain.CardholderIDOfStream(stream)
	env := commands.NewEnvelope(domain.Actor{Client: "seed"}, "seed")
	born := Born(i)
	env.OccurredAt = func(k int) time.Time { return born.Add(time.Duration(k) * time.Second) }
	return commands.Start[*domain.Cardholder]{ID: id, Env: env,
		Decide: func(*domain.Cardholder) ([]domain.Event, error) { return events, nil }}
}

// Lifecycle returns the stream and events of synthetic person i.
func Lifecycle(key []byte, i int, listed bool) (string, []domain.Event) {
	// Unique and valid for i < 500,000,000: sequence, birth year, then region vary.
	first17 := fmt.Sprintf("11%04d%04d0101%03d", (i/50000)%10000, 1950+(i/1000)%50, i%1000)
	idNumber := first17 + string(domain.IDCheckChar(first17))
	id := domain.CardholderIDFor(key, idNumber)
	sex := domain.Male
	if i%2 == 0 {
		sex = domain.Female
	}
	county := fmt.Sprintf("1101%02d", 1+i%16)
	app := fmt.Sprintf("app-%d", i)
	cardNo := fmt.Sprintf("B%08d", i)
	bank := fmt.Sprintf("bank%d", i%5)
	agency := fmt.Sprintf("agency-%d", i%7)
	events := []domain.Event{
		domain.CardholderRegistered{CardholderID: id, IDNumber: idNumber, Name: fmt.Sprintf("person %d", i),
			Sex: sex, BirthDate: fmt.Sprintf("%04d-01-01", 1950+(i/1000)%50), Nationality: "CHN", RegionCode: county,
			EmployerCode: fmt.Sprintf("E%04d", i%1000), CommunityCode: fmt.Sprintf("%s%03d", county, i%30)},
		domain.CardApplied{ApplicationID: app, Source: domain.SourceCounter, Kind: domain.FirstIssue, BankCode: bank},
		domain.BankAccountOpened{ApplicationID: app, BankCode: bank, AccountNo: fmt.Sprintf("62%014d", i)},
		domain.CardNumberAssigned{ApplicationID: app, CardNo: cardNo},
	}
	if i%13 == 0 {
		events = append(events, domain.CardProductionFailed{CardNo: cardNo, Reason: "photo rejected"})
	}
	if i%17 == 0 && !listed {
		return domain.StreamFor(id), events // still waiting after a failure
	}
	chip := fmt.Sprintf("%032x", i)
	issued := time.Date(2024, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC)
	events = append(events,
		domain.CardProduced{CardNo: cardNo, ChipID: chip, Vendor: "vendor-a"},
		domain.CardHandedOver{CardNo: cardNo, From: "vendor-a", To: agency, Handler: "clerk"},
		domain.CardIssued{CardNo: cardNo, IssuedOn: issued.Format(domain.DateLayout),
			ExpiresOn: issued.AddDate(domain.ValidityYears, 0, 0).Format(domain.DateLayout), Agency: agency},
		domain.CardActivated{CardNo: cardNo},
	)
	switch {
	case listed:
		events = append(events, domain.CardReportedLost{CardNo: cardNo})
	case i%5 == 1:
		events = append(events, domain.CardReportedLost{CardNo: cardNo, Reason: "lost wallet"})
	case i%5 == 2:
		events = append(events, domain.CardTemporarilyLost{CardNo: cardNo},
			domain.CardUnlocked{CardNo: cardNo, Lifted: domain.StatusTemporarilyLost})
	case i%5 == 3:
		newApp := app + "-r"
		events = append(events,
			domain.CardCancelled{CardNo: cardNo, Cause: domain.CauseReplacement, From: domain.StatusActive},
			domain.CardApplied{ApplicationID: newApp, Source: domain.SourceOnline, Kind: domain.Replacement,
				BankCode: bank, ReplacesCardNo: cardNo},
			domain.BankAccountOpened{ApplicationID: newApp, BankCode: bank, AccountNo: fmt.Sprintf("63%014d", i)},
			domain.CardNumberAssigned{ApplicationID: newApp, CardNo: fmt.Sprintf("C%08d", i)})
	case i%5 == 4 && i%3 == 0:
		events = append(events, domain.CardCancelled{CardNo: cardNo, Cause: domain.CauseRequest, From: domain.StatusActive})
	}
	return domain.StreamFor(id), events
}
