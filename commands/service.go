package commands

import (
	"errors"
	"time"

	"github.com/cardledger/cardledger/eventstore"
)

// Service is the application layer without HTTP: every command handler and
// the history reader, wired over one event store. Batch jobs, the seeder and
// the load command use it directly.
type Service struct {
	Repository   *Repository
	CardNumbers  *CardNumbers
	History      *History
	Register     *RegisterHandler
	Cardholder   *CardholderCommandHandler
	Card         *CardCommandHandler
	AssignNumber *AssignNumberHandler
	InstantIssue *InstantIssueHandler
	// Channels is the e-card channels' gate (suspension) and AccessLog the
	// holders' record of channel reads under consent (issue 14).
	Channels  *ChannelGate
	AccessLog *AccessLog
	// Province is the provincial card database's commands (省持卡库,
	// province_commands.go); the port itself is set by UseProvince.
	Province *ProvinceHandler

	province *provinceLink
}

// NewService wires the handlers. idKey is the cardholder-id HMAC key (see
// NewRegisterHandler); clock stamps events and dates issues.
func NewService(store eventstore.Store, idKey []byte, clock func() time.Time) (*Service, error) {
	repo, err := NewRepository(store, clock)
	if err != nil {
		return nil, err
	}
	numbers, err := NewCardNumbers(store, clock)
	if err != nil {
		return nil, err
	}
	s := &Service{Repository: repo, CardNumbers: numbers, Channels: repo.gate, province: &provinceLink{}}
	var errs [7]error
	s.History, errs[0] = NewHistory(store, numbers)
	s.Register, errs[1] = NewRegisterHandler(repo, idKey)
	s.Cardholder, errs[2] = NewCardholderCommandHandler(repo)
	s.Card, errs[3] = NewCardCommandHandler(repo, numbers)
	s.AssignNumber, errs[4] = NewAssignNumberHandler(repo, numbers)
	s.InstantIssue, errs[5] = NewInstantIssueHandler(repo, numbers, clock)
	s.AccessLog, errs[6] = NewAccessLog(store, clock)
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	s.Cardholder.province, s.InstantIssue.province = s.province, s.province
	s.Province = &ProvinceHandler{repo: repo, numbers: numbers, link: s.province}
	return s, nil
}
