package piistore

import (
	"encoding/json"

	"github.com/cardledger/cardledger/domain"
)

// rule says which JSON fields of an event type are personal data and whose
// they are. Fields are top-level, or, when array is set, in each object of
// that array (one person per element).
type rule struct {
	fields []string
	array  string
	// subjectField names the element field holding the person's cardholder
	// id (array rules); top-level rules use the cardholder stream's id.
	subjectField string
}

// rules lists every event type of the code base that carries personal
// data: name, ID number, birth date, phone, photo reference. Others carry
// none (card numbers, accounts, usage records and staff names are not
// about the cardholder's identity; see the package doc).
var rules = map[string]rule{
	domain.CardholderRegistered{}.EventType(): {fields: []string{"id_number", "name", "birth_date", "phone"}},
	domain.CardApplied{}.EventType():          {fields: []string{"photo_ref"}},
	domain.PhoneChanged{}.EventType():         {fields: []string{"phone"}},
	// The corrected value is under the key of its field: name and photo_ref
	// are personal, employer_code and community_code are not (as in
	// CardholderRegistered).
	domain.PersonalDataCorrected{}.EventType(): {fields: []string{"name", "photo_ref", "email"}},
	// The photo's content address: whoever holds the photo could confirm it.
	domain.PhotoCollected{}.EventType(): {fields: []string{"photo_ref"}},
	domain.BatchMembersAdded{}.EventType(): {array: "members", subjectField: "cardholder_id",
		fields: []string{"id_number", "name", "birth_date", "photo_ref"}},
}

// streamSubject is the person a top-level rule's fields belong to: the
// cardholder of the stream, or — for personal data in another aggregate's
// stream, which no rule has today — a key per stream.
func streamSubject(stream string) string {
	if id, ok := domain.CardholderIDOfStream(stream); ok {
		return id
	}
	return "stream:" + stream
}

// elementSubject is the cardholder id an array element names, "" if none.
func elementSubject(obj map[string]json.RawMessage, field string) string {
	var s string
	if json.Unmarshal(obj[field], &s) != nil {
		return ""
	}
	return s
}
