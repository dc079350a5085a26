package domain

import (
	"slices"
	"time"
)

// MigrateCardholder brings in one legacy record: the person (as
// RegisterCardholder) and the legacy card, recording the file and line.
// The application layer reserves LegacyCardNo before sending it, as it does
// for every card number.
type MigrateCardholder struct {
	Cardholder   RegisterCardholder
	SourceFile   string
	SourceSHA256 string
	Line         int
	LegacyCardNo string
	IssuedOn     string // YYYY-MM-DD
	Status       CardStatus
	Agency       string
	// Today is the civil date the issue date may not be after.
	Today time.Time
}

func (MigrateCardholder) CommandName() string { return "migrate_cardholder" }
func (MigrateCardholder) cardholderCommand()  {}

// earliestLegacyIssue is the first day a first-generation card could have
// been issued (the national card programme started in 1999); earlier dates
// are typing errors.
const earliestLegacyIssue = "1999-01-01"

// decideMigrate validates the legacy card fields and the person together,
// so a bad row reports every bad field at once; a holder with a stream is
// refused already_registered (the importer tells duplicates from conflicts).
func decideMigrate(c *Cardholder, cmd MigrateCardholder) ([]Event, error) {
	var f fieldErrors
	f.cardNo("card_no", cmd.LegacyCardNo)
	f.requiredText("source_file", cmd.SourceFile, maxTextLen)
	f.requiredRef("source_sha256", cmd.SourceSHA256)
	if cmd.Line < 1 {
		f.add("line", CodeInvalidValue, "line must be 1 or more")
	}
	issuedOn, expiresOn := "", ""
	if f.required("issue_date", cmd.IssuedOn) {
		d, err := time.Parse(DateLayout, cmd.IssuedOn)
		switch {
		case err != nil:
			f.add("issue_date", CodeInvalidValue, "issue date %q is not a date YYYY-MM-DD", cmd.IssuedOn)
		case cmd.IssuedOn < earliestLegacyIssue:
			f.add("issue_date", CodeInvalidValue, "issue date %s is before %s", cmd.IssuedOn, earliestLegacyIssue)
		case !cmd.Today.IsZero() && cmd.IssuedOn > civilDate(cmd.Today).Format(DateLayout):
			f.add("issue_date", CodeInvalidValue, "issue date %s is in the future", cmd.IssuedOn)
		default:
			issuedOn, expiresOn = d.Format(DateLayout), d.AddDate(ValidityYears, 0, 0).Format(DateLayout)
		}
	}
	if !slices.Contains(LegacyStatuses(), cmd.Status) {
		f.add("status", CodeInvalidValue, "status %q is not active, lost, temporarily_lost or cancelled", cmd.Status)
	}
	f.text("agency", cmd.Agency, maxTextLen)
	registered, err := decideRegister(c, cmd.Cardholder)
	if err != nil {
		if e, ok := AsError(err); ok && e.Kind == KindInvalid {
			f = append(f, e.Fields...)
		} else if len(f) == 0 {
			return nil, err
		}
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	return []Event{
		CardholderMigrated{CardholderID: cmd.Cardholder.CardholderID, SourceFile: cmd.SourceFile, SourceSHA256: cmd.SourceSHA256, Line: cmd.Line},
		registered[0],
		LegacyCardRecorded{CardNo: cmd.LegacyCardNo, IssuedOn: issuedOn, ExpiresOn: expiresOn, Status: cmd.Status, Agency: cmd.Agency, Generation: GenerationFirst},
	}, nil
}
