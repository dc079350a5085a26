package domain

import (
	"net/mail"
	"strings"
)

// Notifications to holders (issue 16 item 5): the notifier (package
// notifications) sends SMS to the holder's phone and e-mail to the
// holder's e-mail address (实名邮箱) when their card is ready for pick-up,
// activated or confirmed lost. The holder may opt out of either medium; the
// choice is an event of their stream, made at the counter or through a
// channel bound to them, so it is in the history like every other change.

// NotificationOptOut is the holder's standing refusal of each medium; the
// zero value receives both.
type NotificationOptOut struct {
	SMS   bool `json:",omitempty"`
	Email bool `json:",omitempty"`
}

// SetNotificationPreferences records which media the holder refuses.
// Channel "" is the counter.
type SetNotificationPreferences struct {
	SMSOptOut   bool
	EmailOptOut bool
	Channel     string
}

func (SetNotificationPreferences) CommandName() string { return "set_notification_preferences" }
func (SetNotificationPreferences) cardholderCommand()  {}

// NotificationPreferencesSet: the holder's choice of notification media
// from now on; true refuses the medium. Channel is the channel that sent
// it, "" at the counter.
type NotificationPreferencesSet struct {
	SMSOptOut   bool   `json:"sms_opt_out"`
	EmailOptOut bool   `json:"email_opt_out"`
	Channel     string `json:"channel,omitempty"`
}

func (NotificationPreferencesSet) EventType() string { return "NotificationPreferencesSet" }

// CodeNotificationPreferencesUnchanged: the holder already has these
// preferences (KindConflict).
const CodeNotificationPreferencesUnchanged = "notification_preferences_unchanged"

// CodeInvalidEmail: not a plain e-mail address (KindInvalid).
const CodeInvalidEmail = "invalid_email"

// MaxEmailLen is the longest e-mail address accepted (RFC 5321 path limit).
const MaxEmailLen = 254

// ValidateEmail reports whether v is one bare address (local@domain), no
// display name, no spaces or control characters.
func ValidateEmail(v string) bool {
	if v == "" || len(v) > MaxEmailLen || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return false
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(v, '@')
	return at > 0 && strings.Contains(v[at+1:], ".")
}

func emailField(f *fieldErrors, field, v string) {
	if !f.required(field, v) {
		return
	}
	if !ValidateEmail(v) {
		f.add(field, CodeInvalidEmail, "%s must be one plain address like name@example.cn", field)
	}
}

func decideNotificationPreferences(c *Cardholder, cmd SetNotificationPreferences) ([]Event, error) {
	var f fieldErrors
	if cmd.Channel != "" {
		f.channel("channel", cmd.Channel)
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	if err := requireRegistered(c); err != nil {
		return nil, err
	}
	want := NotificationOptOut{SMS: cmd.SMSOptOut, Email: cmd.EmailOptOut}
	if c.NotifyOptOut == want {
		return nil, Conflict(CodeNotificationPreferencesUnchanged, "cardholder %s already has these notification preferences", c.ID)
	}
	return one(NotificationPreferencesSet{SMSOptOut: cmd.SMSOptOut, EmailOptOut: cmd.EmailOptOut, Channel: cmd.Channel})
}
