package domain

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A scenario is one given-events / when-command / then-outcome check.
type scenario struct {
	t     *testing.T
	given []Event
	cmd   CardholderCommand
}

func given(t *testing.T, history ...[]Event) *scenario {
	t.Helper()
	var all []Event
	for _, h := range history {
		all = append(all, h...)
	}
	return &scenario{t: t, given: all}
}

func (s *scenario) when(cmd CardholderCommand) *scenario {
	s.cmd = cmd
	return s
}

func (s *scenario) decide() (*Cardholder, []Event, error) {
	s.t.Helper()
	c := Replay(testHolderID, s.given)
	before := *c
	events, err := Decide(c, s.cmd)
	require.Equal(s.t, before, *c, "Decide must not change the state")
	return c, events, err
}

// thenEvents asserts the exact events and returns the state after applying them.
func (s *scenario) thenEvents(want ...Event) *Cardholder {
	s.t.Helper()
	c, got, err := s.decide()
	require.NoError(s.t, err)
	require.Equal(s.t, want, got)
	for _, e := range got {
		c.Apply(e)
	}
	return c
}

// thenError asserts a refusal with the given code and returns it.
func (s *scenario) thenError(code string) *Error {
	s.t.Helper()
	_, got, err := s.decide()
	require.Error(s.t, err)
	assert.Nil(s.t, got)
	e, ok := AsError(err)
	require.True(s.t, ok, "want *Error, got %T: %v", err, err)
	require.Equal(s.t, code, e.Code, "error: %v", err)
	return e
}

// thenFieldError asserts a KindInvalid refusal that names field with code.
func (s *scenario) thenFieldError(field, code string) {
	s.t.Helper()
	e := s.thenError(CodeInvalidCommand)
	require.Equal(s.t, KindInvalid, e.Kind)
	assert.Contains(s.t, fieldCodes(e), field+":"+code, "fields: %v", e.Fields)
}

func fieldCodes(e *Error) []string {
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field+":"+f.Code)
	}
	return out
}

// Fixtures: one person in 苏州 with one card going through its life.
const (
	testHolderID = "0123456789abcdef0123456789abcdef"
	testIDNumber = "320505199003071336" // 虎丘区, 1990-03-07, male
	testCardNo   = "A12345678"
	otherCardNo  = "B87654321"
	testChipID   = "0123456789ABCDEF0123456789ABCDEF"
	testAccount  = "6222020000000001"
	testApp      = "app-1"
	testBank     = "102"
)

var testDay = time.Date(2024, 3, 1, 10, 30, 0, 0, time.FixedZone("CST", 8*3600))

func registered() []Event {
	return []Event{CardholderRegistered{
		CardholderID: testHolderID, IDNumber: testIDNumber, Name: "张三", Sex: Male,
		BirthDate: "1990-03-07", Nationality: "CHN", RegionCode: "320505",
	}}
}

func applied() []Event {
	return append(registered(), CardApplied{
		ApplicationID: testApp, Source: SourceCounter, Kind: FirstIssue, BankCode: testBank, PhotoRef: "photo/1.jpg",
	})
}

// accountOpened has the account open and the number assigned.
func accountOpened() []Event {
	return append(applied(),
		BankAccountOpened{ApplicationID: testApp, BankCode: testBank, AccountNo: testAccount},
		CardNumberAssigned{ApplicationID: testApp, CardNo: testCardNo},
	)
}

func produced() []Event {
	return append(accountOpened(), CardProduced{CardNo: testCardNo, ChipID: testChipID, Vendor: "acme"})
}

func issued() []Event {
	return append(produced(), CardIssued{CardNo: testCardNo, IssuedOn: "2024-03-01", ExpiresOn: "2034-03-01", Agency: "outlet-1"})
}

func active() []Event { return append(issued(), CardActivated{CardNo: testCardNo}) }

func lost() []Event { return append(active(), CardReportedLost{CardNo: testCardNo}) }

func temporarilyLost() []Event { return append(active(), CardTemporarilyLost{CardNo: testCardNo}) }

func cancelled() []Event {
	return append(active(), CardCancelled{CardNo: testCardNo, Cause: CauseRequest, From: StatusActive})
}

func transferred() []Event {
	return append(active(), CardholderTransferredOut{CardNo: testCardNo, FromRegion: "320505", ToRegion: "110105"})
}

func withECard(h []Event) []Event { return append(h, ECardIssued{CardNo: testCardNo}) }

func testDayUTC(y int, m time.Month, d, h int) time.Time {
	return time.Date(y, m, d, h, 0, 0, 0, time.UTC)
}
