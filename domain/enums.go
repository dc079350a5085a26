package domain

// Closed enums: each is a small string type with a fixed set of values and a
// Valid method; JSON carries the string.

// Sex of a cardholder.
type Sex string

const (
	Male   Sex = "male"
	Female Sex = "female"
)

func (s Sex) Valid() bool { return s == Male || s == Female }

// ApplicationSource is where an application came from.
type ApplicationSource string

const (
	SourceCounter ApplicationSource = "counter"
	SourceOnline  ApplicationSource = "online"
	SourceBank    ApplicationSource = "bank"
	SourceBatch   ApplicationSource = "batch"
)

func (s ApplicationSource) Valid() bool {
	switch s {
	case SourceCounter, SourceOnline, SourceBank, SourceBatch:
		return true
	}
	return false
}

// ApplicationKind tells a first card from a replacement (补换卡).
type ApplicationKind string

const (
	FirstIssue  ApplicationKind = "first_issue"
	Replacement ApplicationKind = "replacement"
)

func (k ApplicationKind) Valid() bool { return k == FirstIssue || k == Replacement }

// CardStatus is the state of a person's current card; the state table is in doc.go.
type CardStatus string

const (
	StatusNone            CardStatus = ""                 // no application yet
	StatusApplied         CardStatus = "applied"          // 已申领, waiting for account/production
	StatusAccountOpened   CardStatus = "account_opened"   // bank account open; number assigned
	StatusProduced        CardStatus = "produced"         // chip personalised, in custody
	StatusIssued          CardStatus = "issued"           // handed to the holder, not yet activated
	StatusActive          CardStatus = "active"           // 正常
	StatusLost            CardStatus = "lost"             // 正式挂失
	StatusTemporarilyLost CardStatus = "temporarily_lost" // 临时挂失
	StatusCancelled       CardStatus = "cancelled"        // 注销
	StatusTransferred     CardStatus = "transferred"      // moved to another city
)

func (s CardStatus) Valid() bool {
	switch s {
	case StatusNone, StatusApplied, StatusAccountOpened, StatusProduced, StatusIssued,
		StatusActive, StatusLost, StatusTemporarilyLost, StatusCancelled, StatusTransferred:
		return true
	}
	return false
}

// Blacklisted reports whether a card in this status must be refused by
// hospitals, pharmacies, banks and POS terminals.
func (s CardStatus) Blacklisted() bool {
	return s == StatusLost || s == StatusTemporarilyLost || s == StatusCancelled
}

// CancelCause is why a card was cancelled.
type CancelCause string

const (
	CauseRequest     CancelCause = "request"     // the holder or an operator asked
	CauseReplacement CancelCause = "replacement" // replaced by a new card (补换卡)
	CauseDeath       CancelCause = "death"
	CauseOther       CancelCause = "other"
)

func (c CancelCause) Valid() bool {
	switch c {
	case CauseRequest, CauseReplacement, CauseDeath, CauseOther:
		return true
	}
	return false
}

// ECardRevocationCause is why an e-card was revoked (ECardRevoked.Cause).
type ECardRevocationCause string

const (
	ECardCauseRequest ECardRevocationCause = "request" // the holder asked (本人申请)
	ECardCauseMisuse  ECardRevocationCause = "misuse"  // suspected misuse of the e-card account (冒用)
	ECardCauseOther   ECardRevocationCause = "other"   // the reason says
	// ECardCauseCardCancelled and ECardCauseTransferred: the e-card ended
	// with its card (cancel_card, transfer_out record it in the same
	// decision). Commands cannot give them.
	ECardCauseCardCancelled ECardRevocationCause = "card_cancelled"
	ECardCauseTransferred   ECardRevocationCause = "transferred"
	// ECardCauseUnrecorded is the cause of revocations recorded before
	// causes were (ECardRevoked version 1). Commands cannot give it.
	ECardCauseUnrecorded ECardRevocationCause = "unrecorded"
)

// Valid reports whether c may be stored; ECardCauseUnrecorded (upcast from
// version 1), ECardCauseCardCancelled and ECardCauseTransferred are valid in
// events but refused in commands (Commandable).
func (c ECardRevocationCause) Valid() bool {
	switch c {
	case ECardCauseRequest, ECardCauseMisuse, ECardCauseOther, ECardCauseUnrecorded,
		ECardCauseCardCancelled, ECardCauseTransferred:
		return true
	}
	return false
}

// Commandable reports whether revoke_ecard may give cause c.
func (c ECardRevocationCause) Commandable() bool {
	return c == ECardCauseRequest || c == ECardCauseMisuse || c == ECardCauseOther
}
