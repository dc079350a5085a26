package seed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
)

// UsageSink takes usage records; *analytics.Ingester is one.
type UsageSink interface {
	Ingest(ctx context.Context, records []domain.UsageInput, allOrNothing bool, actor domain.Actor) (analytics.IngestResult, error)
}

// Deps are what Run drives.
type Deps struct {
	// Service must be built with Clock.Now as its clock.
	Service *commands.Service
	Clock   *Clock
	Usage   UsageSink
	// HomeCity is the prefecture the system serves; "" is domain.DemoPrefecture.
	HomeCity string
	// End is the end of the simulated period; zero is now.
	End time.Time
	// RandSeed picks the city; the same seed gives the same city.
	RandSeed uint64
	// Parallel is how many people are handled at once (0: 8).
	Parallel int
}

// Summary counts what Run created.
type Summary struct {
	People        int
	Cards         int // including replacements
	ECards        int
	Losses        int // formal and temporary
	Replacements  int
	Cancellations int
	UsageRecords  int
	RemoteUses    int // usage outside the card's home city
}

// Clock is a settable clock for the command service. The zero Clock (and
// one set to the zero time) tells the real time.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		return time.Now()
	}
	return c.t
}

// Set moves the clock; the zero time makes it real again.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// usageBatch is the number of records per ingest call.
const usageBatch = 5000

// Run creates people cardholders and months of history ending at deps.End.
func Run(ctx context.Context, deps Deps, people, months int, progress Progress) (Summary, error) {
	if deps.Service == nil || deps.Clock == nil || deps.Usage == nil {
		return Summary{}, errors.New("seed: need a command service, its clock and a usage sink")
	}
	if people < 1 || months < 1 {
		return Summary{}, fmt.Errorf("seed: need at least one person and one month (got %d, %d)", people, months)
	}
	if progress == nil {
		progress = NoProgress{}
	}
	if deps.HomeCity == "" {
		deps.HomeCity = domain.DemoPrefecture
	}
	if deps.End.IsZero() {
		deps.End = time.Now()
	}
	if deps.Parallel <= 0 {
		deps.Parallel = 8
	}
	defer deps.Clock.Set(time.Time{})
	w := newWorld(deps, people, months)
	var sum Summary
	if err := w.runLifecycles(ctx, progress, &sum); err != nil {
		return sum, err
	}
	if err := w.runUsage(ctx, progress, &sum); err != nil {
		return sum, err
	}
	return sum, nil
}

// world is the simulation: the people and the places they go.
type world struct {
	deps       Deps
	rng        *rand.Rand
	start, end time.Time
	people     []*resident
	// places to use a card, by kind of trip.
	homeCounties   []string // of the home city
	provinceCities []string // other prefectures of the home province
	farCities      []string // elsewhere, weighted by repetition
}

// resident is one simulated person and what happened to their cards.
type resident struct {
	idx      int
	region   string // registration region (GB/T 2260)
	homeCity string // its prefecture
	birth    time.Time
	sex      domain.Sex
	name     string
	plan     []action

	// Filled while the plan runs.
	holder string
	cards  []validity
}

// validity is when a card could be used.
type validity struct {
	cardNo   string
	from, to time.Time
	ecardAt  time.Time // zero: no e-card
}

// action is one step of a resident's life, at a simulated time.
type action struct {
	at time.Time
	do func(ctx context.Context, w *world, r *resident, at time.Time, sum *Summary) error
}

func newWorld(deps Deps, people, months int) *world {
	china := domain.ChinaTime()
	end := deps.End.In(china)
	w := &world{
		deps:  deps,
		rng:   rand.New(rand.NewPCG(deps.RandSeed, 0x5eed)),
		end:   end,
		start: time.Date(end.Year(), end.Month(), 1, 0, 0, 0, 0, china).AddDate(0, -(months - 1), 0),
	}
	for _, c := range domain.Counties(deps.HomeCity) {
		w.homeCounties = append(w.homeCounties, c.Code)
	}
	if len(w.homeCounties) == 0 {
		w.homeCounties = []string{deps.HomeCity}
	}
	for _, p := range domain.Prefectures() {
		switch {
		case p.Code == deps.HomeCity:
		case p.Code[:2] == deps.HomeCity[:2]:
			w.provinceCities = append(w.provinceCities, p.Code)
		default:
			w.farCities = append(w.farCities, p.Code)
		}
	}
	// Shanghai, Hangzhou and Beijing draw more visitors from the Yangtze delta.
	for _, c := range []string{"310100", "310100", "310100", "330100", "330100", "110100"} {
		w.farCities = append(w.farCities, c)
	}
	for i := 0; i < people; i++ {
		w.people = append(w.people, w.newResident(i))
	}
	return w
}

func (w *world) pick(list []string) string { return list[w.rng.IntN(len(list))] }

// countyIn returns a county of city if known, else the city code itself.
func (w *world) countyIn(city string) string {
	if cs := domain.Counties(city); len(cs) > 0 {
		return cs[w.rng.IntN(len(cs))].Code
	}
	return city
}

func (w *world) newResident(i int) *resident {
	r := &resident{idx: i}
	switch x := w.rng.Float64(); {
	case x < 0.85:
		r.region = w.pick(w.homeCounties)
	case x < 0.93:
		r.region = w.countyIn(w.pick(w.provinceCities))
	default:
		r.region = w.pick(w.farCities)
	}
	r.homeCity = domain.PrefectureOf(r.region)
	age := 1 + w.rng.IntN(88)
	if w.rng.Float64() < 0.6 { // working age dominates
		age = 20 + w.rng.IntN(40)
	}
	r.birth = time.Date(w.end.Year()-age, time.Month(1+w.rng.IntN(12)), 1+w.rng.IntN(28), 0, 0, 0, 0, time.UTC)
	r.sex = domain.Male
	if w.rng.IntN(2) == 0 {
		r.sex = domain.Female
	}
	r.name = Name(w.rng)
	w.planLife(r, age)
	return r
}

// planLife draws the resident's registration, card and what befalls it.
func (w *world) planLife(r *resident, age int) {
	span := w.end.Sub(w.start)
	// Half the city has its card before the period; the rest join over it.
	reg := w.start.Add(time.Duration(w.rng.Float64() * float64(span) * 0.05))
	if w.rng.Float64() < 0.5 {
		reg = w.start.Add(time.Duration(w.rng.Float64() * float64(span) * 0.9))
	}
	issue := reg.Add(time.Duration(w.rng.IntN(5)) * 24 * time.Hour)
	r.plan = append(r.plan, action{reg, doRegister}, action{issue, doIssue})
	ecard := time.Time{}
	if w.rng.Float64() < 0.6 {
		ecard = issue.Add(time.Duration(1+w.rng.IntN(40)) * 24 * time.Hour)
	}
	after := func(t time.Time, minDays, maxDays int) time.Time {
		return t.Add(time.Duration(minDays+w.rng.IntN(maxDays-minDays+1)) * 24 * time.Hour)
	}
	event := issue.Add(time.Duration(w.rng.Float64() * float64(w.end.Sub(issue))))
	switch x := w.rng.Float64(); {
	case x < 0.04: // temporary loss, found again
		unlock := after(event, 1, 5)
		r.plan = append(r.plan, action{event, doTempLoss}, action{unlock, doUnlock})
	case x < 0.07: // temporary loss, then formal loss and a new card
		lost := after(event, 1, 3)
		replace := after(lost, 1, 7)
		r.plan = append(r.plan, action{event, doTempLoss}, action{lost, doLoss}, action{replace, doReplace},
			action{after(replace, 0, 2), doIssue})
	case x < 0.10: // formal loss and a new card
		replace := after(event, 2, 10)
		r.plan = append(r.plan, action{event, doLoss}, action{replace, doReplace}, action{after(replace, 0, 2), doIssue})
	case x < 0.11: // lost and never replaced
		r.plan = append(r.plan, action{event, doLoss})
	case x < 0.125 || (age > 80 && x < 0.16): // cancelled
		r.plan = append(r.plan, action{event, doCancel})
	default:
		event = w.end // nothing befalls the card
	}
	// The e-card needs an active card, so it comes before any loss or not at all.
	if !ecard.IsZero() && ecard.Before(event) {
		r.plan = append(r.plan, action{ecard, doECard})
	}
	// Keep only what happens before the end; a plan cut short stays consistent
	// because every step only needs the steps before it.
	kept := r.plan[:0]
	for _, a := range r.plan {
		if a.at.Before(w.end) {
			kept = append(kept, a)
		}
	}
	r.plan = kept
	sort.SliceStable(r.plan, func(i, j int) bool { return r.plan[i].at.Before(r.plan[j].at) })
}

func envelope(r *resident, step string) commands.Envelope {
	env := commands.NewEnvelope(domain.Actor{Client: "seed"}, "seed")
	env.CommandID = commands.CommandIDFor("seed", fmt.Sprintf("%d-%d-%s", r.idx, len(r.cards), step))
	return env
}

func doRegister(ctx context.Context, w *world, r *resident, _ time.Time, sum *Summary) error {
	// Two residents may draw the same region, birthday and sequence: then
	// the second is born a day later.
	for attempt := 0; ; attempt++ {
		res, err := w.deps.Service.Register.Handle(ctx, commands.Register{Envelope: envelope(r, fmt.Sprint("register", attempt)),
			Cardholder: domain.RegisterCardholder{
				IDNumber: IDNumber(r.region, r.birth, r.idx, r.sex), Name: r.name, Sex: r.sex,
				Nationality: "CHN", RegionCode: r.region,
			}})
		if domain.HasCode(err, domain.CodeAlreadyRegistered) && attempt < 10 {
			r.birth = r.birth.AddDate(0, 0, 1)
			continue
		}
		if err != nil {
			return fmt.Errorf("register person %d: %w", r.idx, err)
		}
		r.holder = res.CardholderID
		return nil
	}
}

var banks = []string{"102", "103", "104", "105", "301", "314"} // ICBC, ABC, BOC, CCB, BoCom, 苏州农商

// doIssue plays the bank counter of the demo city, which sends the account
// it opened and the chip its writer read: the ledger records only those.
func doIssue(ctx context.Context, w *world, r *resident, at time.Time, sum *Summary) error {
	res, err := w.deps.Service.InstantIssue.Handle(ctx, commands.InstantIssue{
		Envelope: envelope(r, "issue"), CardholderID: r.holder, BankCode: banks[r.idx%len(banks)],
		AccountNo: fmt.Sprintf("6217%015d", r.idx), ChipID: fmt.Sprintf("DE50%04X%024X", len(r.cards), r.idx),
	})
	if err != nil {
		return fmt.Errorf("issue a card to person %d: %w", r.idx, err)
	}
	r.cards = append(r.cards, validity{cardNo: res.State.Card.CardNo, from: at, to: w.end})
	sum.Cards++
	return nil
}

func (r *resident) current() *validity { return &r.cards[len(r.cards)-1] }

func cardCommand(ctx context.Context, w *world, r *resident, step string, cmd domain.CardholderCommand) error {
	_, err := w.deps.Service.Card.Handle(ctx, commands.CardCommand{
		Envelope: envelope(r, step), CardNo: r.current().cardNo, Command: cmd,
	})
	if err != nil {
		return fmt.Errorf("%s for person %d: %w", cmd.CommandName(), r.idx, err)
	}
	return nil
}

func doECard(ctx context.Context, w *world, r *resident, at time.Time, sum *Summary) error {
	c := r.current()
	if err := cardCommand(ctx, w, r, "ecard", domain.IssueECard{CardNo: c.cardNo}); err != nil {
		return err
	}
	c.ecardAt = at
	sum.ECards++
	return nil
}

func doTempLoss(ctx context.Context, w *world, r *resident, at time.Time, sum *Summary) error {
	c := r.current()
	if err := cardCommand(ctx, w, r, "temp-loss", domain.ReportTemporaryLoss{CardNo: c.cardNo, Reason: "遗失"}); err != nil {
		return err
	}
	c.to = at
	sum.Losses++
	return nil
}

func doUnlock(ctx context.Context, w *world, r *resident, at time.Time, sum *Summary) error {
	c := r.current()
	if err := cardCommand(ctx, w, r, "unlock", domain.UnlockCard{CardNo: c.cardNo, Reason: "找回"}); err != nil {
		return err
	}
	// Usable again from now on: a second validity span for the same card.
	r.cards = append(r.cards, validity{cardNo: c.cardNo, from: at, to: w.end, ecardAt: c.ecardAt})
	return nil
}

func doLoss(ctx context.Context, w *world, r *resident, at time.Time, sum *Summary) error {
	c := r.current()
	if err := cardCommand(ctx, w, r, "loss", domain.ReportLoss{CardNo: c.cardNo, Reason: "遗失"}); err != nil {
		return err
	}
	if c.to.After(at) {
		c.to = at
		sum.Losses++
	}
	return nil
}

func doReplace(ctx context.Context, w *world, r *resident, at time.Time, sum *Summary) error {
	c := r.current()
	err := cardCommand(ctx, w, r, "replace", domain.ReplaceCard{
		CardNo: c.cardNo, ApplicationID: fmt.Sprintf("seed-%d-%d", r.idx, len(r.cards)),
		Source: domain.SourceCounter, Reason: "挂失补卡",
	})
	if err != nil {
		return err
	}
	sum.Replacements++
	return nil
}

func doCancel(ctx context.Context, w *world, r *resident, at time.Time, sum *Summary) error {
	c := r.current()
	cause := domain.CauseRequest
	if time.Since(r.birth) > 80*365*24*time.Hour {
		cause = domain.CauseDeath
	}
	if err := cardCommand(ctx, w, r, "cancel", domain.CancelCard{CardNo: c.cardNo, Cause: cause}); err != nil {
		return err
	}
	c.to = at
	sum.Cancellations++
	return nil
}

// runLifecycles runs every resident's plan in time order, one simulated day
// at a time: the clock shows that day, and the day's residents are handled
// in parallel (each resident's own steps in order).
func (w *world) runLifecycles(ctx context.Context, progress Progress, sum *Summary) error {
	type step struct {
		r *resident
		a action
	}
	days := map[time.Time][]step{}
	total := 0
	for _, r := range w.people {
		for _, a := range r.plan {
			d := a.at.Truncate(24 * time.Hour)
			days[d] = append(days[d], step{r, a})
			total++
		}
	}
	order := make([]time.Time, 0, len(days))
	for d := range days {
		order = append(order, d)
	}
	sort.Slice(order, func(i, j int) bool { return order[i].Before(order[j]) })
	progress.Phase(fmt.Sprintf("people and cards (%d people)", len(w.people)), total)
	defer progress.Finish()
	sum.People = len(w.people)
	for _, d := range order {
		steps := days[d]
		sort.SliceStable(steps, func(i, j int) bool { return steps[i].a.at.Before(steps[j].a.at) })
		byResident := map[*resident][]action{}
		var residents []*resident
		for _, s := range steps {
			if _, ok := byResident[s.r]; !ok {
				residents = append(residents, s.r)
			}
			byResident[s.r] = append(byResident[s.r], s.a)
		}
		w.deps.Clock.Set(steps[len(steps)-1].a.at)
		var (
			mu    sync.Mutex
			first error
			wg    sync.WaitGroup
			next  = make(chan *resident)
		)
		for i := 0; i < min(w.deps.Parallel, len(residents)); i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var local Summary
				for r := range next {
					for _, a := range byResident[r] {
						if err := a.do(ctx, w, r, a.at, &local); err != nil {
							mu.Lock()
							if first == nil {
								first = err
							}
							mu.Unlock()
							break
						}
						progress.Add(1)
					}
				}
				mu.Lock()
				sum.add(local)
				mu.Unlock()
			}()
		}
		for _, r := range residents {
			next <- r
		}
		close(next)
		wg.Wait()
		if first != nil {
			return first
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (s *Summary) add(o Summary) {
	s.Cards += o.Cards
	s.ECards += o.ECards
	s.Losses += o.Losses
	s.Replacements += o.Replacements
	s.Cancellations += o.Cancellations
}

// kindWeights are the shares of each usage kind; elders see doctors more.
func kindWeights(age int) []float64 {
	medical := 18.0
	if age >= 60 {
		medical = 35
	}
	// medical_settlement, pharmacy_purchase, identity_auth, rights_query, transit, other
	return []float64{medical, 28, 12, 9, 18, 6}
}

func weighted(rng *rand.Rand, weights []float64) int {
	var total float64
	for _, w := range weights {
		total += w
	}
	x := rng.Float64() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

var merchants = map[string][]string{
	"medical_treatment":  {"苏州大学附属第一医院", "苏州市立医院", "社区卫生服务中心", "苏州市中医医院"},
	"examination":        {"苏州市立医院检验科", "第一人民医院影像中心"},
	"hospitalization":    {"苏州大学附属第一医院", "苏州市立医院"},
	"drugs":              {"老百姓大药房", "雷允上药店", "益丰大药房", "国大药房"},
	"transit":            {"轨道交通", "公交集团"},
	"government_service": {"市民服务中心", "人社网上服务大厅", "电子社保卡小程序"},
	"other":              {"图书馆", "公园年卡", "文旅服务点"},
}

// usageFor draws the uses of one validity span.
func (w *world) usageFor(rng *rand.Rand, r *resident, v validity, seq *int) []domain.UsageInput {
	age := w.end.Year() - r.birth.Year()
	months := v.to.Sub(v.from).Hours() / (24 * 30)
	rate := 3.0 + float64(age)/15 // uses per month
	n := poisson(rng, rate*months)
	var out []domain.UsageInput
	local := r.homeCity == w.deps.HomeCity
	for i := 0; i < n; i++ {
		at := v.from.Add(time.Duration(rng.Float64() * float64(v.to.Sub(v.from))))
		day := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, domain.ChinaTime())
		kind := domain.UsageKinds()[weighted(rng, kindWeights(age))]
		hour := 8 + rng.IntN(10)
		if kind == domain.UsageTransit || kind == domain.UsagePharmacyPurchase {
			hour = 7 + rng.IntN(15)
		}
		at = day.Add(time.Duration(hour)*time.Hour + time.Duration(rng.IntN(3600))*time.Second)
		if !at.Before(v.to) || at.Before(v.from) {
			continue
		}
		// Where: residents of the home city mostly at home; people registered
		// elsewhere live and work here, and go home now and then.
		var city string
		switch x := rng.Float64(); {
		case local && x < 0.88, !local && x < 0.72:
			city = w.deps.HomeCity
		case !local && x < 0.92:
			city = r.homeCity
		case x < 0.95 && len(w.provinceCities) > 0:
			city = w.provinceCities[rng.IntN(len(w.provinceCities))]
		default:
			city = w.farCities[rng.IntN(len(w.farCities))]
		}
		region := city
		if cs := domain.Counties(city); len(cs) > 0 {
			region = cs[rng.IntN(len(cs))].Code
		}
		category, amount := w.purchase(rng, kind)
		channel := domain.ChannelCard
		switch {
		case (kind == domain.UsageIdentityAuth || kind == domain.UsageRightsQuery) && rng.Float64() < 0.7:
			channel = domain.ChannelOnline
		case !v.ecardAt.IsZero() && at.After(v.ecardAt) && rng.Float64() < 0.45:
			channel = domain.ChannelECardQR
		}
		ms := merchants[category]
		*seq++
		out = append(out, domain.UsageInput{
			ID:     fmt.Sprintf("seed%d-%d-%d", w.deps.RandSeed, r.idx, *seq),
			CardNo: v.cardNo, At: at.Format(time.RFC3339), Kind: string(kind), Amount: amount,
			RegionCode: region, Merchant: ms[rng.IntN(len(ms))], Category: category, Channel: string(channel),
		})
	}
	return out
}

func (w *world) purchase(rng *rand.Rand, kind domain.UsageKind) (category, amount string) {
	yuan := func(median, sigma, lo, hi float64) string {
		v := math.Exp(math.Log(median) + sigma*rng.NormFloat64())
		v = math.Max(lo, math.Min(hi, v))
		return fmt.Sprintf("%.2f", v)
	}
	switch kind {
	case domain.UsageMedicalSettlement:
		switch x := rng.Float64(); {
		case x < 0.08:
			return "hospitalization", yuan(6000, 0.8, 800, 120000)
		case x < 0.35:
			return "examination", yuan(260, 0.6, 30, 5000)
		default:
			return "medical_treatment", yuan(120, 0.8, 10, 3000)
		}
	case domain.UsagePharmacyPurchase:
		return "drugs", yuan(58, 0.7, 5, 1500)
	case domain.UsageTransit:
		return "transit", yuan(3, 0.4, 1, 20)
	case domain.UsageOther:
		return "other", yuan(30, 0.8, 2, 500)
	default:
		return "government_service", "0"
	}
}

func poisson(rng *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean > 50 { // normal approximation
		return max(0, int(math.Round(mean+math.Sqrt(mean)*rng.NormFloat64())))
	}
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// runUsage generates every card's usage and reports it in batches, two
// batches in flight.
func (w *world) runUsage(ctx context.Context, progress Progress, sum *Summary) error {
	var records []domain.UsageInput
	homeOf := map[string]string{}
	for _, r := range w.people {
		rng := rand.New(rand.NewPCG(w.deps.RandSeed, uint64(r.idx)+1))
		seq := 0
		for _, v := range r.cards {
			homeOf[v.cardNo] = r.homeCity
			records = append(records, w.usageFor(rng, r, v, &seq)...)
		}
	}
	sort.Slice(records, func(i, j int) bool { return records[i].At < records[j].At })
	for _, u := range records {
		if domain.PrefectureOf(u.RegionCode) != homeOf[u.CardNo] {
			sum.RemoteUses++
		}
	}
	progress.Phase("card usage", len(records))
	defer progress.Finish()
	actor := domain.Actor{Client: "seed"}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		sem   = make(chan struct{}, 2)
	)
	for lo := 0; lo < len(records); lo += usageBatch {
		batch := records[lo:min(lo+usageBatch, len(records))]
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			res, err := w.deps.Usage.Ingest(ctx, batch, false, actor)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && first == nil:
				first = fmt.Errorf("report usage: %w", err)
			case len(res.Rejected) > 0 && first == nil:
				first = fmt.Errorf("report usage: %d records refused, first: %+v", len(res.Rejected), res.Rejected[0])
			}
			sum.UsageRecords += res.Recorded + res.Duplicates
			progress.Add(len(batch))
		}()
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed {
			break
		}
	}
	wg.Wait()
	return first
}
