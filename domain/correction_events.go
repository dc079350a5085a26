package domain

// Personal data upkeep (issue 16 item 4): a counter corrects a holder's
// name, employer, community or the current card's photo reference; the
// phone is corrected with PhoneChanged (its Reason says it was a
// correction), so that a phone changes one way whoever changes it.
//
// The event keeps the new value only. The old value is in the earlier
// events of the stream (registration, application, an earlier correction),
// so history shows before and after without storing the personal data a
// second time; erasure then has nothing extra to reach.

// CorrectionField names what a correction changes.
type CorrectionField string

const (
	CorrectName          CorrectionField = "name"
	CorrectPhone         CorrectionField = "phone"
	CorrectEmployerCode  CorrectionField = "employer_code"
	CorrectCommunityCode CorrectionField = "community_code"
	CorrectPhotoRef      CorrectionField = "photo_ref"
	// CorrectEmail sets the holder's e-mail address (实名邮箱), which
	// registration does not take: notifications go to it.
	CorrectEmail CorrectionField = "email"
)

// CorrectionFields lists every correctable field in a fixed order.
func CorrectionFields() []CorrectionField {
	return []CorrectionField{CorrectName, CorrectPhone, CorrectEmployerCode, CorrectCommunityCode, CorrectPhotoRef, CorrectEmail}
}

// Valid reports whether f is one of CorrectionFields.
func (f CorrectionField) Valid() bool {
	for _, v := range CorrectionFields() {
		if f == v {
			return true
		}
	}
	return false
}

// PersonalDataCorrected: a counter corrected one of the holder's data
// (个人信息修正). The new value is in the JSON key named for Field — and only
// there — so that the personal store's policy seals name and photo_ref by
// key (they are personal data) while employer and community codes stay
// plain, as they are in CardholderRegistered. ApplicationID names the card
// whose photo was corrected (photo_ref only).
type PersonalDataCorrected struct {
	Field         CorrectionField `json:"field"`
	Name          string          `json:"name,omitempty"`
	EmployerCode  string          `json:"employer_code,omitempty"`
	CommunityCode string          `json:"community_code,omitempty"`
	PhotoRef      string          `json:"photo_ref,omitempty"`
	Email         string          `json:"email,omitempty"`
	ApplicationID string          `json:"application_id,omitempty"`
	Reason        string          `json:"reason"`
}

func (PersonalDataCorrected) EventType() string { return "PersonalDataCorrected" }

// Value is the corrected field's new value.
func (e PersonalDataCorrected) Value() string {
	switch e.Field {
	case CorrectName:
		return e.Name
	case CorrectEmployerCode:
		return e.EmployerCode
	case CorrectCommunityCode:
		return e.CommunityCode
	case CorrectPhotoRef:
		return e.PhotoRef
	case CorrectEmail:
		return e.Email
	}
	return ""
}

// applyCorrection folds PersonalDataCorrected into the holder.
func (c *Cardholder) applyCorrection(e PersonalDataCorrected) {
	switch e.Field {
	case CorrectName:
		c.Profile.Name = e.Name
	case CorrectEmployerCode:
		c.Profile.EmployerCode = e.EmployerCode
	case CorrectCommunityCode:
		c.Profile.CommunityCode = e.CommunityCode
	case CorrectEmail:
		c.Profile.Email = e.Email
	case CorrectPhotoRef:
		if card := c.application(e.ApplicationID); card != nil {
			card.PhotoRef = e.PhotoRef
		}
	}
}
