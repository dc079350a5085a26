package domain

import "time"

// Events of the e-card's channels (issue 14). The holder-level ones are in
// the cardholder's stream and codec; the channel's own events (suspension)
// and the consented-access record are in streams of their own (see
// ecard_streams.go).

// ECardChannelBound: the holder's issued e-card was bound to one more
// channel (one e-card, many channel bindings).
type ECardChannelBound struct {
	CardNo  string `json:"card_no"`
	Channel string `json:"channel"`
}

// ECardChannelUnbound: one channel binding ended; the others stay. CardNo
// is the current card's number ("" while a replacement has none yet).
type ECardChannelUnbound struct {
	CardNo  string `json:"card_no,omitempty"`
	Channel string `json:"channel"`
	Reason  string `json:"reason,omitempty"`
}

// ECardCarriedOver: a replacement carried the e-card of FromCardNo over to
// the new application's card, bindings and all. The new card's e-card is
// issued from here on and usable once that card is issued or active.
type ECardCarriedOver struct {
	ApplicationID string `json:"application_id"`
	FromCardNo    string `json:"from_card_no"`
}

// ConsentGranted: the holder authorised channel (授权) for Scopes until
// ExpiresAt. A later grant to the same channel replaces the earlier one.
type ConsentGranted struct {
	Channel   string         `json:"channel"`
	Scopes    []ConsentScope `json:"scopes"`
	GrantedAt time.Time      `json:"granted_at"`
	ExpiresAt time.Time      `json:"expires_at"`
}

// ConsentRevoked: the holder's consent to channel ended before its expiry.
type ConsentRevoked struct {
	Channel string `json:"channel"`
	Reason  string `json:"reason,omitempty"`
}

// CardCancellationRequested: the holder asked, through Channel, that the
// card be cancelled (注销申请). It changes no status: the counter confirms it
// with cancel_card, which clears the request.
type CardCancellationRequested struct {
	CardNo  string `json:"card_no"`
	Channel string `json:"channel"`
	Reason  string `json:"reason,omitempty"`
}

// PhoneChanged: the holder's contact phone changed (联系电话修改). Phone is
// personal data: piistore seals it with the person's key. Channel is the
// channel that sent it, "" at the counter. Reason is set when the change
// is a correction (correct_personal_data with field phone), "" for the
// holder's own change_phone.
type PhoneChanged struct {
	Phone   string `json:"phone"`
	Channel string `json:"channel,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// ECardRiskAlerted: the holder's codes were verified in two regions too
// close in time for one person to travel (risk control). A fact for the
// audit trail and the operators; it changes no state.
type ECardRiskAlerted struct {
	CardNo         string    `json:"card_no"`
	FirstRegion    string    `json:"first_region"`
	SecondRegion   string    `json:"second_region"`
	FirstAt        time.Time `json:"first_at"`
	SecondAt       time.Time `json:"second_at"`
	FirstTerminal  string    `json:"first_terminal,omitempty"`
	SecondTerminal string    `json:"second_terminal,omitempty"`
}

func (ECardChannelBound) EventType() string         { return "ECardChannelBound" }
func (ECardChannelUnbound) EventType() string       { return "ECardChannelUnbound" }
func (ECardCarriedOver) EventType() string          { return "ECardCarriedOver" }
func (ConsentGranted) EventType() string            { return "ConsentGranted" }
func (ConsentRevoked) EventType() string            { return "ConsentRevoked" }
func (CardCancellationRequested) EventType() string { return "CardCancellationRequested" }
func (PhoneChanged) EventType() string              { return "PhoneChanged" }
func (ECardRiskAlerted) EventType() string          { return "ECardRiskAlerted" }
