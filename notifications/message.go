package notifications

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cardledger/cardledger/domain"
)

// Medium is how a message travels.
type Medium string

const (
	SMS   Medium = "sms"
	Email Medium = "email"
)

// Kinds of message.
const (
	KindCardReady     = "card_ready"
	KindCardActivated = "card_activated"
	KindCardLost      = "card_lost"
	KindBatchFailed   = "batch_failed"
)

// Message is one SMS or e-mail.
type Message struct {
	// ID is "<event id>-<index>": the same on every retry, for the
	// receiver to deduplicate on.
	ID string
	// Index is the message's fixed slot in its event: 0 the SMS (or the
	// operator's e-mail), 1 the holder's e-mail. Fixed, not counted, so
	// that a message dropped by an opt-out recorded between a crash and
	// the retry does not shift the others' ids or progress.
	Index   int
	Kind    string
	Medium  Medium
	To      string
	Subject string // e-mail only
	Text    string
}

// Rules say what becomes a message. The zero value announces every hand-over
// to a custodian other than the vendor as a pick-up point named by its code.
type Rules struct {
	// PickupPoints maps custodian codes that are pick-up points to the
	// name the holder is told; when set, only hand-overs to these are
	// announced (a hand-over between outlets on the way is not).
	PickupPoints map[string]string
	// OperatorEmail receives batch failures; "" sends none.
	OperatorEmail string
	// Media are the media configured; messages of others are not composed.
	Media []Medium
}

// Relevant reports whether events of type t may become messages, so that
// others are skipped without reading any stream.
func Relevant(t string) bool {
	switch t {
	case domain.CardHandedOver{}.EventType(), domain.CardActivated{}.EventType(),
		domain.CardReportedLost{}.EventType(), domain.CardTemporarilyLost{}.EventType(),
		domain.BatchJobProgressed{}.EventType():
		return true
	}
	return false
}

// Compose is the messages of one event: e is the event, h the holder's
// state now (nil for events outside a cardholder stream), batchID the
// batch of a batch stream's event. Pure: the same input, the same
// messages, on every retry.
func (r Rules) Compose(eventID string, e domain.Event, h *domain.Cardholder, batchID string) []Message {
	var kind, subject, text string
	switch e := e.(type) {
	case domain.BatchJobProgressed:
		return r.batchFailed(eventID, batchID, e)
	case domain.CardHandedOver:
		point, ok := r.pickupPoint(e.To)
		if !ok {
			return nil
		}
		kind, subject = KindCardReady, "社会保障卡待领取通知"
		text = fmt.Sprintf("%s，您尾号%s的社会保障卡已到%s，请携带身份证件前往领取。", salutation(h), tail(e.CardNo), point)
	case domain.CardActivated:
		kind, subject = KindCardActivated, "社会保障卡启用通知"
		text = fmt.Sprintf("%s，您尾号%s的社会保障卡已启用。如非本人办理，请致电12333。", salutation(h), tail(e.CardNo))
	case domain.CardReportedLost:
		kind, subject = KindCardLost, "社会保障卡挂失确认"
		text = fmt.Sprintf("%s，您尾号%s的社会保障卡已正式挂失。如非本人办理，请致电12333。", salutation(h), tail(e.CardNo))
	case domain.CardTemporarilyLost:
		kind, subject = KindCardLost, "社会保障卡挂失确认"
		text = fmt.Sprintf("%s，您尾号%s的社会保障卡已临时挂失。如非本人办理，请致电12333。", salutation(h), tail(e.CardNo))
	default:
		return nil
	}
	if h == nil || h.Erased {
		return nil
	}
	var out []Message
	if r.has(SMS) && !h.NotifyOptOut.SMS && domain.ValidatePhone(h.Profile.Phone) {
		out = append(out, Message{Index: 0, Kind: kind, Medium: SMS, To: h.Profile.Phone, Text: smsSign + text})
	}
	if r.has(Email) && !h.NotifyOptOut.Email && domain.ValidateEmail(h.Profile.Email) {
		out = append(out, Message{Index: 1, Kind: kind, Medium: Email, To: h.Profile.Email, Subject: subject, Text: text})
	}
	return numbered(eventID, out)
}

// smsSign opens every SMS: Chinese carriers require a signature.
const smsSign = "【社会保障卡】"

func (r Rules) has(m Medium) bool { return slices.Contains(r.Media, m) }

func (r Rules) pickupPoint(to string) (string, bool) {
	if len(r.PickupPoints) > 0 {
		name, ok := r.PickupPoints[to]
		return name, ok
	}
	if to == "" || to == "vendor" || to == domain.CustodyHolder {
		return "", false
	}
	return to, true
}

// batchFailed tells the operators which members of a batch job their
// streams refused, by member index and code: the reasons may name a card
// or a person, and the operator finds both in the batch status.
func (r Rules) batchFailed(eventID, batchID string, e domain.BatchJobProgressed) []Message {
	if len(e.Failures) == 0 || r.OperatorEmail == "" || !r.has(Email) {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Batch %s, job %d: %d item(s) refused by their cardholder streams; they need action "+
		"(GET /v1/batches/%s, then POST /v1/batches/%s/jobs/%d/retry or release).\n\n", batchID, e.Job, len(e.Failures), batchID, batchID, e.Job)
	for _, f := range e.Failures {
		fmt.Fprintf(&b, "member %d: %s\n", f.Member, f.Code)
	}
	return numbered(eventID, []Message{{Kind: KindBatchFailed, Medium: Email, To: r.OperatorEmail,
		Subject: fmt.Sprintf("[cardledger] batch %s job %d: %d item(s) need action", batchID, e.Job, len(e.Failures)),
		Text:    b.String()}})
}

func numbered(eventID string, ms []Message) []Message {
	for i := range ms {
		ms[i].ID = fmt.Sprintf("%s-%d", eventID, ms[i].Index)
	}
	return ms
}

func salutation(h *domain.Cardholder) string {
	if h == nil || h.Profile.Name == "" || h.Profile.Name == domain.ErasedMarker {
		return "您好"
	}
	return domain.MaskName(strings.TrimSpace(h.Profile.Name))
}

// tail is the last four characters of a card number.
func tail(cardNo string) string {
	if len(cardNo) <= 4 {
		return cardNo
	}
	return cardNo[len(cardNo)-4:]
}
