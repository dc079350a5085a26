package domain

// First-generation migration (一代卡迁移, issue 16 item 7). A migrated
// holder's stream starts CardholderMigrated, CardholderRegistered,
// LegacyCardRecorded, appended together by MigrateCardholder: the first
// says where the record came from, the second is the ordinary registration
// (so every read model knows the person without learning a new event), the
// third is the legacy card as the old system knew it.

// Generation is a card's generation: first (一代卡, magnetic/contact chip
// of the old system), second (二代卡, every card this system issued before
// generations were recorded) and third (三代卡, with a financial chip).
type Generation string

const (
	GenerationFirst  Generation = "first"
	GenerationSecond Generation = "second"
	GenerationThird  Generation = "third"
)

// Valid reports whether g is one of the three generations.
func (g Generation) Valid() bool {
	return g == GenerationFirst || g == GenerationSecond || g == GenerationThird
}

// OrSecond is g, or second when g is empty: events stored before
// generations were recorded are second-generation cards.
func (g Generation) OrSecond() Generation {
	if g == "" {
		return GenerationSecond
	}
	return g
}

// CardholderMigrated: the person was brought in from a legacy file; the
// first event of a migrated stream. SourceSHA256 names the file's content,
// SourceFile its name as given, Line the 1-based line of the record.
type CardholderMigrated struct {
	CardholderID string `json:"cardholder_id"`
	SourceFile   string `json:"source_file"`
	SourceSHA256 string `json:"source_sha256"`
	Line         int    `json:"line"`
}

// LegacyCardRecorded: the holder's legacy card as the old system recorded
// it; it becomes the current card, generation first.
type LegacyCardRecorded struct {
	CardNo     string     `json:"card_no"`
	IssuedOn   string     `json:"issued_on"`  // YYYY-MM-DD
	ExpiresOn  string     `json:"expires_on"` // YYYY-MM-DD, ValidityYears after IssuedOn
	Status     CardStatus `json:"status"`     // active, lost, temporarily_lost or cancelled
	Agency     string     `json:"agency,omitempty"`
	Generation Generation `json:"generation"`
}

func (CardholderMigrated) EventType() string { return "CardholderMigrated" }
func (LegacyCardRecorded) EventType() string { return "LegacyCardRecorded" }

// Migration is where a migrated holder's record came from.
type Migration struct {
	SourceFile   string
	SourceSHA256 string
	Line         int
}

// LegacyStatuses are the statuses a legacy card may be recorded with.
func LegacyStatuses() []CardStatus {
	return []CardStatus{StatusActive, StatusLost, StatusTemporarilyLost, StatusCancelled}
}

// applyLegacy folds the migration events; it reports whether e was one.
func (c *Cardholder) applyLegacy(e Event) bool {
	switch e := e.(type) {
	case CardholderMigrated:
		if c.ID == "" {
			c.ID = e.CardholderID
		}
		c.Migration = &Migration{SourceFile: e.SourceFile, SourceSHA256: e.SourceSHA256, Line: e.Line}
	case LegacyCardRecorded:
		card := &Card{
			// The application id names the legacy card so that read models
			// keyed by application tell it from the holder's later cards.
			ApplicationID: LegacyApplicationPrefix + e.CardNo,
			Source:        SourceMigration, Kind: FirstIssue, CardNo: e.CardNo, Status: e.Status,
			IssuedOn: e.IssuedOn, ExpiresOn: e.ExpiresOn, Agency: e.Agency, Generation: e.Generation,
			Custody: Custody{At: CustodyHolder, Handler: e.Agency},
		}
		switch e.Status {
		case StatusLost, StatusTemporarilyLost:
			card.BeforeLoss = StatusActive
		case StatusCancelled:
			// The old system's cause is unknown; restoring gives back an active card.
			card.Cancellation = &Cancellation{Cause: CauseOther, From: StatusActive, Reason: "cancelled in the legacy system"}
		}
		if c.Card != nil {
			c.PastCards = append(c.PastCards, *c.Card)
		}
		c.Card = card
	default:
		return false
	}
	return true
}

// LegacyApplicationPrefix starts the application id of a legacy card
// (there was no application here).
const LegacyApplicationPrefix = "legacy-"

// SourceMigration is the source of a legacy card: it was not applied for
// here. Commands cannot name it (ApplicationSource.Valid refuses it).
const SourceMigration ApplicationSource = "migration"
