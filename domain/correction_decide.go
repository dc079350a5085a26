package domain

import (
	"strings"
	"unicode"
)

// CorrectPersonalData corrects one of the holder's personal data (个人信息修正)
// with a required reason. Channel "" is the counter; a channel may correct
// the phone only (the HTTP layer also checks its binding and consent).
type CorrectPersonalData struct {
	Field   CorrectionField
	Value   string
	Reason  string
	Channel string
}

func (CorrectPersonalData) CommandName() string { return "correct_personal_data" }
func (CorrectPersonalData) cardholderCommand()  {}

// Codes of corrections.
const (
	// CodePhoneOnlyThroughChannel: a channel asked to correct something
	// other than the phone (KindInvalid, field "field").
	CodePhoneOnlyThroughChannel = "phone_only_through_channel"
	// CodeCorrectionUnchanged: the value is already the holder's (KindConflict).
	CodeCorrectionUnchanged = "correction_unchanged"
	// CodeNoCardForPhoto: a photo correction on a holder without a current
	// card, whose application carries the photo (KindConflict).
	CodeNoCardForPhoto = "no_card_for_photo"
)

// nameField checks a person's name as registration does and returns it trimmed.
func nameField(f *fieldErrors, field, raw string) string {
	name := strings.TrimSpace(raw)
	f.requiredText(field, name, MaxNameLen)
	if strings.ContainsFunc(name, unicode.IsControl) {
		f.add(field, CodeInvalidValue, "%s contains control characters", field)
	}
	return name
}

// phoneField checks a mobile number as registration does; required says
// whether it may be empty.
func phoneField(f *fieldErrors, field, v string, required bool) {
	if required && !f.required(field, v) {
		return
	}
	if v != "" && !ValidatePhone(v) {
		f.add(field, CodeInvalidPhone, "phone must be 11 digits starting with 1")
	}
}

func decideCorrection(c *Cardholder, cmd CorrectPersonalData) ([]Event, error) {
	var f fieldErrors
	value := cmd.Value
	switch {
	case cmd.Field == "":
		f.add("field", CodeRequired, "field is required")
	case !cmd.Field.Valid():
		f.add("field", CodeInvalidValue, "field %q is not one of name, phone, employer_code, community_code, photo_ref, email", cmd.Field)
	case cmd.Channel != "" && cmd.Field != CorrectPhone:
		f.add("field", CodePhoneOnlyThroughChannel, "a channel may correct the phone only")
	case cmd.Field == CorrectName:
		value = nameField(&f, "value", cmd.Value)
	case cmd.Field == CorrectPhone:
		phoneField(&f, "value", cmd.Value, true)
	case cmd.Field == CorrectEmployerCode, cmd.Field == CorrectCommunityCode:
		f.requiredRef("value", cmd.Value)
	case cmd.Field == CorrectPhotoRef:
		// The card takes the holder's current stored photo (photo.go).
		f.required("value", cmd.Value)
	case cmd.Field == CorrectEmail:
		emailField(&f, "value", cmd.Value)
	}
	f.requiredText("reason", cmd.Reason, maxTextLen)
	if cmd.Channel != "" {
		f.channel("channel", cmd.Channel)
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	if err := requireRegistered(c); err != nil {
		return nil, err
	}
	// The person's data key is gone: new personal data would be stored
	// under a key nobody erased.
	if c.Erased {
		return nil, Conflict(CodeAlreadyErased, "the personal data of cardholder %s is erased", c.ID)
	}
	var current string
	e := PersonalDataCorrected{Field: cmd.Field, Reason: cmd.Reason}
	switch cmd.Field {
	case CorrectName:
		current, e.Name = c.Profile.Name, value
	case CorrectPhone:
		current = c.Profile.Phone
	case CorrectEmployerCode:
		current, e.EmployerCode = c.Profile.EmployerCode, value
	case CorrectCommunityCode:
		current, e.CommunityCode = c.Profile.CommunityCode, value
	case CorrectEmail:
		current, e.Email = c.Profile.Email, value
	case CorrectPhotoRef:
		if c.Card == nil {
			return nil, Conflict(CodeNoCardForPhoto, "cardholder %s has no current card whose photo could be corrected", c.ID)
		}
		if c.Photo == nil || c.Photo.Ref != value {
			return nil, notCollected(c)
		}
		current, e.PhotoRef, e.ApplicationID = c.Card.PhotoRef, value, c.Card.ApplicationID
	}
	if current == value {
		return nil, Conflict(CodeCorrectionUnchanged, "%s of cardholder %s is already the given value", cmd.Field, c.ID)
	}
	if cmd.Field == CorrectPhone {
		return one(PhoneChanged{Phone: value, Channel: cmd.Channel, Reason: cmd.Reason})
	}
	return one(e)
}
