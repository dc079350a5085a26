package domain

import (
	"slices"
	"time"
)

// Replacement fee (补换卡工本费). Every path that applies for a replacement
// card records what it costs (ReplacementFeeAssessed, in the append that
// applies for the new card): replace_card at a counter or bank,
// apply_for_card after a cancellation, apply_through_channel replacing a lost or cancelled card, and an
// instant_issue that opens its own replacement application. A channel
// claims no exemption (the counter sees the certificate); elderly needs no
// claim. A fee neither exempted nor paid holds the application: it is
// not produced (record_production, instant_issue: replacement_fee_unpaid)
// and batch selection leaves it out. The non-tax POS (非税收入 POS) reports
// the payment (record_fee_payment: ReplacementFeePaid).

// FeeExemption is why a replacement is free.
type FeeExemption string

const (
	// FeeExemptElderly: the holder is at least FeeSchedule.ElderlyAge years
	// old on the day of the replacement. Granted without a claim.
	FeeExemptElderly FeeExemption = "elderly"
	// FeeExemptHardship: a holder of a 特困供养 or 低保 certificate, which the
	// counter checks; the certificate itself is not recorded.
	FeeExemptHardship FeeExemption = "hardship"
	// FeeExemptCardDefect: the card failed through no fault of the holder
	// (chip or body defect). Free once per holder: a holder who already had
	// a replacement exempted so pays for the next.
	FeeExemptCardDefect FeeExemption = "card_defect"
)

// FeeExemptions lists every exemption category.
func FeeExemptions() []FeeExemption {
	return []FeeExemption{FeeExemptElderly, FeeExemptHardship, FeeExemptCardDefect}
}

// Valid reports whether e is a known category.
func (e FeeExemption) Valid() bool { return slices.Contains(FeeExemptions(), e) }

// FeeSchedule is the city's fee: amount in fen (分) and the exemption
// categories it grants. AmountFen 0 means no fee is charged.
type FeeSchedule struct {
	AmountFen  int64
	ElderlyAge int // years; used when Exemptions has elderly
	Exemptions []FeeExemption
}

// Grants reports whether the schedule has exemption e.
func (s FeeSchedule) Grants(e FeeExemption) bool { return slices.Contains(s.Exemptions, e) }

// ReplacementFee is a replacement command's fee part: the schedule in
// force, the exemption the counter claims ("" none; elderly needs no
// claim) and the civil day in China the holder's age is counted on.
type ReplacementFee struct {
	Schedule FeeSchedule
	Claim    FeeExemption
	On       time.Time
}

// Fee is what a replacement application costs and whether it was paid.
type Fee struct {
	AmountFen  int64
	Exemption  FeeExemption `json:",omitempty"`
	AssessedOn string       // YYYY-MM-DD
	PaymentID  string       `json:",omitempty"`
	PaidAt     time.Time    `json:",omitzero"`
}

// Due reports whether the fee still holds its application.
func (f *Fee) Due() bool {
	return f != nil && f.AmountFen > 0 && f.Exemption == "" && f.PaymentID == ""
}

// CodeReplacementFeeUnpaid: the application's fee is neither exempted nor
// paid, so it is not produced (KindConflict).
const (
	CodeReplacementFeeUnpaid = "replacement_fee_unpaid"
	CodeFeeExemptionRefused  = "fee_exemption_refused" // KindConflict: the holder does not qualify
	CodeNoFeeDue             = "no_fee_due"            // KindConflict: exempted, or no fee recorded
	CodeFeeAlreadyPaid       = "fee_already_paid"      // KindConflict: paid by another payment
	CodeFeeAmountMismatch    = "fee_amount_mismatch"   // KindConflict: the payment is not the fee's amount
	CodeFeeNotFound          = "fee_not_found"         // KindNotFound: the application is not the current one
)

// feeField checks the fee part of a replacement command.
func feeField(f *fieldErrors, fee *ReplacementFee) {
	if fee == nil {
		return
	}
	if fee.Schedule.AmountFen < 0 {
		f.add("fee.amount_fen", CodeInvalidValue, "a fee is not negative")
	}
	if fee.On.IsZero() {
		f.add("fee.on", CodeRequired, "the day of the replacement is required")
	}
	switch {
	case fee.Claim == "":
	case !fee.Claim.Valid():
		f.add("fee_exemption", CodeInvalidValue, "%q is not one of elderly, hardship, card_defect", fee.Claim)
	case !fee.Schedule.Grants(fee.Claim):
		f.add("fee_exemption", CodeInvalidValue, "this city grants no %s exemption", fee.Claim)
	}
}

// assessFee is the fee event of replacement application appID, or nil when
// the schedule charges nothing. Exempted fees keep the amount waived.
func assessFee(c *Cardholder, appID string, fee *ReplacementFee) (*ReplacementFeeAssessed, error) {
	if fee == nil || fee.Schedule.AmountFen == 0 {
		if fee != nil && fee.Claim != "" {
			return nil, Conflict(CodeNoFeeDue, "no replacement fee is charged, so there is nothing to exempt")
		}
		return nil, nil
	}
	day := fee.On.In(chinaTime)
	e := &ReplacementFeeAssessed{ApplicationID: appID, AmountFen: fee.Schedule.AmountFen, AssessedOn: day.Format(DateLayout)}
	elderly := fee.Schedule.Grants(FeeExemptElderly) && ageOn(c.Profile.BirthDate, day) >= fee.Schedule.ElderlyAge
	switch {
	case elderly:
		e.Exemption = FeeExemptElderly
	case fee.Claim == FeeExemptElderly:
		return nil, Conflict(CodeFeeExemptionRefused, "the holder is younger than %d", fee.Schedule.ElderlyAge)
	case fee.Claim == FeeExemptCardDefect && c.hadFeeExemption(FeeExemptCardDefect):
		return nil, Conflict(CodeFeeExemptionRefused, "the holder already had a replacement for a card defect free of charge")
	default:
		e.Exemption = fee.Claim
	}
	return e, nil
}

// withFee puts fee (if any) right after the CardApplied in events: the
// fee belongs to the new application.
func withFee(events []Event, fee *ReplacementFeeAssessed) []Event {
	if fee == nil {
		return events
	}
	i := slices.IndexFunc(events, func(e Event) bool { _, ok := e.(CardApplied); return ok })
	return slices.Insert(events, i+1, Event(*fee))
}

// unclaimedFeeField refuses an exemption claim where no counter sees the
// certificate (a channel, an instant issue's own application).
func unclaimedFeeField(f *fieldErrors, fee *ReplacementFee, where string) {
	if fee != nil && fee.Claim != "" {
		f.add("fee_exemption", CodeInvalidValue, "%s claims no fee exemption; the counter checks the certificate (replace_card)", where)
	}
}

// ageOn is the age in whole years on day of someone born on birth
// (YYYY-MM-DD); -1 when birth is not a date (an erased holder).
func ageOn(birth string, day time.Time) int {
	b, err := time.Parse(DateLayout, birth)
	if err != nil {
		return -1
	}
	age := day.Year() - b.Year()
	if day.Month() < b.Month() || day.Month() == b.Month() && day.Day() < b.Day() {
		age--
	}
	return age
}

func (c *Cardholder) hadFeeExemption(e FeeExemption) bool {
	for _, card := range append(slices.Clone(c.PastCards), cardOrZero(c.Card)) {
		if card.Fee != nil && card.Fee.Exemption == e {
			return true
		}
	}
	return false
}

func cardOrZero(c *Card) Card {
	if c == nil {
		return Card{}
	}
	return *c
}

// RecordFeePayment records the non-tax POS's report that the fee of
// application ApplicationID was paid. PaymentID is the POS's own id of the
// payment; the application layer derives the command id from it, so a
// report sent twice is recorded once.
type RecordFeePayment struct {
	ApplicationID string
	PaymentID     string
	AmountFen     int64
	Terminal      string
	PaidAt        time.Time
}

func (RecordFeePayment) CommandName() string { return "record_fee_payment" }
func (RecordFeePayment) cardholderCommand()  {}

func decideFeePayment(c *Cardholder, cmd RecordFeePayment) ([]Event, error) {
	var f fieldErrors
	f.requiredRef("application_id", cmd.ApplicationID)
	f.requiredRef("payment_id", cmd.PaymentID)
	f.ref("terminal", cmd.Terminal)
	if cmd.AmountFen <= 0 {
		f.add("amount_fen", CodeInvalidValue, "a payment is a positive number of fen")
	}
	if cmd.PaidAt.IsZero() {
		f.add("paid_at", CodeRequired, "paid_at is required")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	if err := requireRegistered(c); err != nil {
		return nil, err
	}
	card := c.application(cmd.ApplicationID)
	if card == nil {
		return nil, NotFound(CodeFeeNotFound, "application %s is not the current application of cardholder %s", cmd.ApplicationID, c.ID)
	}
	fee := card.Fee
	switch {
	case fee == nil || fee.AmountFen == 0:
		return nil, Conflict(CodeNoFeeDue, "application %s has no replacement fee", cmd.ApplicationID)
	case fee.Exemption != "":
		return nil, Conflict(CodeNoFeeDue, "the fee of application %s is exempted (%s)", cmd.ApplicationID, fee.Exemption)
	case fee.PaymentID != "":
		return nil, Conflict(CodeFeeAlreadyPaid, "the fee of application %s was paid by payment %s", cmd.ApplicationID, fee.PaymentID)
	case cmd.AmountFen != fee.AmountFen:
		return nil, Conflict(CodeFeeAmountMismatch, "payment of %d fen for a fee of %d fen", cmd.AmountFen, fee.AmountFen)
	}
	return one(ReplacementFeePaid{ApplicationID: cmd.ApplicationID, PaymentID: cmd.PaymentID, AmountFen: cmd.AmountFen,
		Terminal: cmd.Terminal, PaidAt: cmd.PaidAt.UTC()})
}

// refuseUnpaid holds an application whose fee is due.
func refuseUnpaid(card *Card) error {
	if card != nil && card.Fee.Due() {
		return Conflict(CodeReplacementFeeUnpaid, "the replacement fee of application %s (%d fen) is not paid",
			card.ApplicationID, card.Fee.AmountFen)
	}
	return nil
}

// ReplacementFeeAssessed: what replacement application ApplicationID
// costs, appended with its CardApplied. With an Exemption the amount is
// waived (kept for the daily report).
type ReplacementFeeAssessed struct {
	ApplicationID string       `json:"application_id"`
	AmountFen     int64        `json:"amount_fen"`
	Exemption     FeeExemption `json:"exemption,omitempty"`
	AssessedOn    string       `json:"assessed_on"` // YYYY-MM-DD, China
}

// ReplacementFeePaid: the non-tax POS reported the fee paid.
type ReplacementFeePaid struct {
	ApplicationID string    `json:"application_id"`
	PaymentID     string    `json:"payment_id"`
	AmountFen     int64     `json:"amount_fen"`
	Terminal      string    `json:"terminal,omitempty"`
	PaidAt        time.Time `json:"paid_at"`
}

func (ReplacementFeeAssessed) EventType() string { return "ReplacementFeeAssessed" }
func (ReplacementFeePaid) EventType() string     { return "ReplacementFeePaid" }

// applyFee folds the fee events; it reports whether e was one.
func (c *Cardholder) applyFee(e Event) bool {
	switch e := e.(type) {
	case ReplacementFeeAssessed:
		if card := c.application(e.ApplicationID); card != nil {
			card.Fee = &Fee{AmountFen: e.AmountFen, Exemption: e.Exemption, AssessedOn: e.AssessedOn}
		}
	case ReplacementFeePaid:
		if card := c.application(e.ApplicationID); card != nil && card.Fee != nil {
			card.Fee.PaymentID, card.Fee.PaidAt = e.PaymentID, e.PaidAt
		}
	default:
		return false
	}
	return true
}
