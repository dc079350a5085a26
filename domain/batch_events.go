package domain

// Events of the batch aggregate (批量制卡). A batch lives in its own stream,
// "batch-<id>". Like the cardholder events, type names and field meanings
// are part of the stored contract.
//
// Large batches are split over several events appended atomically in one
// write (BatchCreated followed by BatchMembersAdded chunks, a return's
// ReturnAccepted followed by ReturnRowsAdded chunks) so that no single event
// grows beyond a few hundred kilobytes.

// BatchMember is one person in a batch, captured when the batch is created
// so that every export file is generated from the batch stream alone.
type BatchMember struct {
	CardholderID  string            `json:"cardholder_id"`
	ApplicationID string            `json:"application_id"`
	IDNumber      string            `json:"id_number"`
	Name          string            `json:"name"`
	Sex           Sex               `json:"sex"`
	BirthDate     string            `json:"birth_date"`
	Nationality   string            `json:"nationality"`
	RegionCode    string            `json:"region_code"`
	EmployerCode  string            `json:"employer_code,omitempty"`
	CommunityCode string            `json:"community_code,omitempty"`
	Source        ApplicationSource `json:"source"`
	Kind          ApplicationKind   `json:"kind"`
	BankCode      string            `json:"bank_code,omitempty"`
	PhotoRef      string            `json:"photo_ref,omitempty"`
	// AccountNo and CardNo are set when the person already had them when the
	// batch was created (a retry after a production failure): such members
	// skip the bank account-opening round-trip.
	AccountNo string `json:"account_no,omitempty"`
	CardNo    string `json:"card_no,omitempty"`
}

// BatchFilter is how the members were selected among pending applications.
// Empty fields match everything.
type BatchFilter struct {
	RegionCode    string            `json:"region_code,omitempty"`
	EmployerCode  string            `json:"employer_code,omitempty"`
	CommunityCode string            `json:"community_code,omitempty"`
	Source        ApplicationSource `json:"source,omitempty"`
	Kind          ApplicationKind   `json:"kind,omitempty"`
	// Generation is the generation of the card the application asks for
	// (second or third; an application that said none is second).
	Generation Generation `json:"generation,omitempty"`
	// ReplacesGeneration keeps replacements of a card of that generation
	// (first: the migrated holders' legacy cards, 一代卡换二代/三代).
	ReplacesGeneration Generation `json:"replaces_generation,omitempty"`
	// ExpiringWithinMonths keeps replacements of a card that expires no
	// later than this many months after the batch's creation date, or has
	// expired (到期换卡); 0 does not filter. See BatchFilter.ExpiryCutoff.
	ExpiringWithinMonths int `json:"expiring_within_months,omitempty"`
	Limit                int `json:"limit,omitempty"`
}

// BatchCreated opens a batch; its members follow in BatchMembersAdded events
// of the same append.
type BatchCreated struct {
	BatchID     string      `json:"batch_id"`
	Filter      BatchFilter `json:"filter"`
	MemberCount int         `json:"member_count"`
	CreatedOn   string      `json:"created_on"` // YYYY-MM-DD, printed in every file header
}

// BatchMembersAdded carries a chunk of the members, in batch order.
type BatchMembersAdded struct {
	Members []BatchMember `json:"members"`
}

// BatchReviewed: an operator checked the member list (审核).
type BatchReviewed struct {
	Reviewer string `json:"reviewer"`
	Note     string `json:"note,omitempty"`
}

// BatchConfirmed: the batch is final and may go to the bank (确认).
type BatchConfirmed struct {
	ConfirmedBy string `json:"confirmed_by"`
}

// BatchFileExported: a file of kind File went out; SHA256 is the digest of
// the whole file as generated, Lines the number of detail lines.
type BatchFileExported struct {
	File   BatchFileKind `json:"file"`
	SHA256 string        `json:"sha256"`
	Lines  int           `json:"lines"`
}

// BatchReturnAccepted: a return file of kind File was validated as a whole
// and accepted; its rows follow in BatchReturnRowsAdded events of the same
// append. Applying the rows to the cardholders is job Job.
type BatchReturnAccepted struct {
	File   BatchFileKind `json:"file"`
	SHA256 string        `json:"sha256"`
	Lines  int           `json:"lines"`
	Job    int           `json:"job"`
}

// BatchReturnRowsAdded carries a chunk of an accepted return's rows.
type BatchReturnRowsAdded struct {
	Rows []ReturnRow `json:"rows"`
}

// ReturnRow is one person's outcome in a return file. Member is the index of
// the person in the batch; OK false means refused or failed, with Reason.
type ReturnRow struct {
	Member    int    `json:"member"`
	OK        bool   `json:"ok"`
	AccountNo string `json:"account_no,omitempty"` // bank account-opening return
	ChipID    string `json:"chip_id,omitempty"`    // vendor production return
	Reason    string `json:"reason,omitempty"`
}

// BatchHandedOver: the batch's cards moved from one custodian to the next
// (卡片交接, 物流到村镇); job Job hands over each produced card.
type BatchHandedOver struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Handler string `json:"handler"`
	Job     int    `json:"job"`
}

// BatchPickedUp: the batch's cards were collected in bulk (批量领取); job Job
// issues each produced card (and activates it when the bank activated it).
type BatchPickedUp struct {
	On     string `json:"on"` // YYYY-MM-DD
	Agency string `json:"agency"`
	Job    int    `json:"job"`
}

// BatchJobRetried: job Job applies again the items of job Of (the last
// finished job) whose members' cardholder streams refused them; Members
// lists those members in the order of job Of's items.
type BatchJobRetried struct {
	Job     int   `json:"job"`
	Of      int   `json:"of"`
	Members []int `json:"members"`
}

// BatchMembersReleased: the batch moved on past the step its last job led
// to while these members' items of that job had failed; they leave the
// batch (stage released, the failure's reason kept), and an application
// still pending is free for another batch. CardholderIDs is parallel to
// Members, for projections that do not fold the batch.
type BatchMembersReleased struct {
	Members       []int    `json:"members"`
	CardholderIDs []string `json:"cardholder_ids"`
}

// BatchJobProgressed: the process manager applied items [0, Done) of job
// Job to the cardholder streams. CardNos lists card numbers assigned in this
// stretch (bank return job only); Failures the items of this stretch that
// their cardholder stream refused.
type BatchJobProgressed struct {
	Job      int              `json:"job"`
	Done     int              `json:"done"`
	CardNos  []CardAssignment `json:"card_nos,omitempty"`
	Failures []JobFailure     `json:"failures,omitempty"`
}

// CardAssignment records the card number assigned to a member.
type CardAssignment struct {
	Member int    `json:"member"`
	CardNo string `json:"card_no"`
}

// BatchJobCompleted: every item of job Job reached its cardholder; the batch
// moves to the next step.
type BatchJobCompleted struct {
	Job int `json:"job"`
}

// JobFailure is an item a cardholder stream refused when the job applied it
// (say, the card was cancelled after the return file came in).
type JobFailure struct {
	Job    int    `json:"job"`
	Member int    `json:"member"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

func (BatchCreated) EventType() string         { return "BatchCreated" }
func (BatchMembersAdded) EventType() string    { return "BatchMembersAdded" }
func (BatchReviewed) EventType() string        { return "BatchReviewed" }
func (BatchConfirmed) EventType() string       { return "BatchConfirmed" }
func (BatchFileExported) EventType() string    { return "BatchFileExported" }
func (BatchReturnAccepted) EventType() string  { return "BatchReturnAccepted" }
func (BatchReturnRowsAdded) EventType() string { return "BatchReturnRowsAdded" }
func (BatchHandedOver) EventType() string      { return "BatchHandedOver" }
func (BatchPickedUp) EventType() string        { return "BatchPickedUp" }
func (BatchJobProgressed) EventType() string   { return "BatchJobProgressed" }
func (BatchJobRetried) EventType() string      { return "BatchJobRetried" }
func (BatchMembersReleased) EventType() string { return "BatchMembersReleased" }
func (BatchJobCompleted) EventType() string    { return "BatchJobCompleted" }
