package domain

import (
	"fmt"
	"regexp"
)

// The PSAM aggregate: one stream per PSAM card ("psam-<serial>"), the
// terminal security modules that POS and self-service terminals need.
//
//	(none) --stock in--> in_stock --issue--> issued --return--> in_stock
//	in_stock | issued --damage--> damaged      (final)
//	in_stock | issued --loss-->   lost         (final)
//
// Invariants: a serial is stocked in once; only a card in stock is issued;
// a damaged or lost card never comes back; whoever held it when it was
// damaged or lost stays on record (Agency).

// PSAMStatus is where a PSAM card is.
type PSAMStatus string

const (
	PSAMStatusNone    PSAMStatus = ""
	PSAMStatusInStock PSAMStatus = "in_stock"
	PSAMStatusIssued  PSAMStatus = "issued"
	PSAMStatusDamaged PSAMStatus = "damaged"
	PSAMStatusLost    PSAMStatus = "lost"
)

// PSAMStreamFor names the stream of a PSAM card.
func PSAMStreamFor(serial string) string { return "psam-" + serial }

var psamSerialPattern = regexp.MustCompile(`^[0-9A-Za-z]{4,32}$`)

// Events.

type PSAMStockedIn struct {
	Serial     string `json:"serial"`
	Model      string `json:"model,omitempty"`
	Vendor     string `json:"vendor,omitempty"`
	Warehouse  string `json:"warehouse"`
	ReceivedOn string `json:"received_on"` // YYYY-MM-DD
}

type PSAMIssued struct {
	Serial     string `json:"serial"`
	Agency     string `json:"agency"`
	TerminalID string `json:"terminal_id,omitempty"`
	On         string `json:"on"`
}

type PSAMReturned struct {
	Serial    string `json:"serial"`
	Agency    string `json:"agency"`
	Warehouse string `json:"warehouse"`
	On        string `json:"on"`
}

type PSAMDamaged struct {
	Serial string `json:"serial"`
	Agency string `json:"agency,omitempty"` // who held it
	Reason string `json:"reason"`
	On     string `json:"on"`
}

type PSAMLost struct {
	Serial string `json:"serial"`
	Agency string `json:"agency,omitempty"`
	Reason string `json:"reason"`
	On     string `json:"on"`
}

func (PSAMStockedIn) EventType() string { return "PSAMStockedIn" }
func (PSAMIssued) EventType() string    { return "PSAMIssued" }
func (PSAMReturned) EventType() string  { return "PSAMReturned" }
func (PSAMDamaged) EventType() string   { return "PSAMDamaged" }
func (PSAMLost) EventType() string      { return "PSAMLost" }

// Commands.

type StockInPSAM struct {
	Serial, Model, Vendor, Warehouse, ReceivedOn string
}

type IssuePSAM struct {
	Serial, Agency, TerminalID, On string
}

type ReturnPSAM struct {
	Serial, Warehouse, On string
}

type ReportPSAMDamaged struct {
	Serial, Reason, On string
}

type ReportPSAMLost struct {
	Serial, Reason, On string
}

func (StockInPSAM) CommandName() string       { return "stock_in_psam" }
func (IssuePSAM) CommandName() string         { return "issue_psam" }
func (ReturnPSAM) CommandName() string        { return "return_psam" }
func (ReportPSAMDamaged) CommandName() string { return "report_psam_damaged" }
func (ReportPSAMLost) CommandName() string    { return "report_psam_lost" }

// Codes of refused PSAM commands.
const (
	CodePSAMExists   = "psam_exists"    // KindConflict
	CodePSAMNotFound = "psam_not_found" // KindNotFound
)

// PSAM is the state of one PSAM card.
type PSAM struct {
	Serial     string     `json:"serial"`
	Status     PSAMStatus `json:"status"`
	Model      string     `json:"model,omitempty"`
	Vendor     string     `json:"vendor,omitempty"`
	Warehouse  string     `json:"warehouse,omitempty"`
	Agency     string     `json:"agency,omitempty"` // who holds it (or held it when damaged or lost)
	TerminalID string     `json:"terminal_id,omitempty"`
	Reason     string     `json:"reason,omitempty"`
}

// Apply folds one event into p.
func (p *PSAM) Apply(e Event) error {
	switch e := e.(type) {
	case PSAMStockedIn:
		*p = PSAM{Serial: e.Serial, Status: PSAMStatusInStock, Model: e.Model, Vendor: e.Vendor, Warehouse: e.Warehouse}
	case PSAMIssued:
		p.Status, p.Agency, p.TerminalID = PSAMStatusIssued, e.Agency, e.TerminalID
	case PSAMReturned:
		p.Status, p.Agency, p.TerminalID, p.Warehouse = PSAMStatusInStock, "", "", e.Warehouse
	case PSAMDamaged:
		p.Status, p.Reason = PSAMStatusDamaged, e.Reason
	case PSAMLost:
		p.Status, p.Reason = PSAMStatusLost, e.Reason
	default:
		return fmt.Errorf("psam %s: unknown event %T", p.Serial, e)
	}
	return nil
}

// DecidePSAM decides a PSAM command against p (nil or empty for an unknown serial).
func DecidePSAM(p *PSAM, cmd PSAMCommand) ([]Event, error) {
	if p == nil {
		p = &PSAM{}
	}
	var fe []FieldError
	need := func(field, v string) {
		if v == "" {
			fe = append(fe, FieldError{Field: field, Code: CodeRequired, Message: field + " is required"})
		}
	}
	// field is the date's name in the command (received_on, on), so the
	// error names the field the caller sent.
	date := func(field, v string) {
		if !datePattern.MatchString(v) {
			fe = append(fe, FieldError{Field: field, Code: CodeInvalidValue, Message: "YYYY-MM-DD"})
		}
	}
	switch c := cmd.(type) {
	case StockInPSAM:
		if !psamSerialPattern.MatchString(c.Serial) {
			fe = append(fe, FieldError{Field: "serial", Code: CodeInvalidValue, Message: "4-32 letters or digits"})
		}
		need("warehouse", c.Warehouse)
		date("received_on", c.ReceivedOn)
		if len(fe) > 0 {
			return nil, Invalid(fe...)
		}
		if p.Status != PSAMStatusNone {
			return nil, Conflict(CodePSAMExists, "PSAM %s is already registered (%s)", c.Serial, p.Status)
		}
		return []Event{PSAMStockedIn{Serial: c.Serial, Model: c.Model, Vendor: c.Vendor, Warehouse: c.Warehouse, ReceivedOn: c.ReceivedOn}}, nil
	case IssuePSAM:
		need("agency", c.Agency)
		date("on", c.On)
		if len(fe) > 0 {
			return nil, Invalid(fe...)
		}
		if err := p.require(cmd, PSAMStatusInStock); err != nil {
			return nil, err
		}
		return []Event{PSAMIssued{Serial: p.Serial, Agency: c.Agency, TerminalID: c.TerminalID, On: c.On}}, nil
	case ReturnPSAM:
		need("warehouse", c.Warehouse)
		date("on", c.On)
		if len(fe) > 0 {
			return nil, Invalid(fe...)
		}
		if err := p.require(cmd, PSAMStatusIssued); err != nil {
			return nil, err
		}
		return []Event{PSAMReturned{Serial: p.Serial, Agency: p.Agency, Warehouse: c.Warehouse, On: c.On}}, nil
	case ReportPSAMDamaged:
		need("reason", c.Reason)
		date("on", c.On)
		if len(fe) > 0 {
			return nil, Invalid(fe...)
		}
		if err := p.require(cmd, PSAMStatusInStock, PSAMStatusIssued); err != nil {
			return nil, err
		}
		return []Event{PSAMDamaged{Serial: p.Serial, Agency: p.Agency, Reason: c.Reason, On: c.On}}, nil
	case ReportPSAMLost:
		need("reason", c.Reason)
		date("on", c.On)
		if len(fe) > 0 {
			return nil, Invalid(fe...)
		}
		if err := p.require(cmd, PSAMStatusInStock, PSAMStatusIssued); err != nil {
			return nil, err
		}
		return []Event{PSAMLost{Serial: p.Serial, Agency: p.Agency, Reason: c.Reason, On: c.On}}, nil
	}
	return nil, &Error{Kind: KindInvalid, Code: CodeUnknownCommand, Message: "PSAM cannot decide " + cmd.CommandName()}
}

func (p *PSAM) require(cmd Command, allowed ...PSAMStatus) error {
	if p.Status == PSAMStatusNone {
		return NotFound(CodePSAMNotFound, "no such PSAM card")
	}
	for _, s := range allowed {
		if p.Status == s {
			return nil
		}
	}
	return &Error{Kind: KindConflict, Code: CodeInvalidTransition,
		Message: fmt.Sprintf("%s is not allowed when the PSAM card is %s", cmd.CommandName(), p.Status), Command: cmd.CommandName()}
}
