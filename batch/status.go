package batch

import (
	"context"

	"github.com/cardledger/cardledger/domain"
)

// BatchStatus is the query view of one batch.
type BatchStatus struct {
	BatchID   string                                              `json:"batch_id"`
	Step      domain.BatchStep                                    `json:"step"`
	CreatedOn string                                              `json:"created_on"`
	Filter    domain.BatchFilter                                  `json:"filter"`
	Members   int                                                 `json:"members"`
	Stages    map[domain.MemberStage]int                          `json:"stages"` // members per stage
	Custody   string                                              `json:"custody,omitempty"`
	Exports   map[domain.BatchFileKind]domain.BatchFileExported   `json:"exports"`
	Returns   map[domain.BatchFileKind]domain.BatchReturnAccepted `json:"returns"`
	// Failed counts the members whose last job item their cardholder
	// stream refused (listed in Failures with Job set); they stay at the
	// stage before that job until a retry applies them.
	Failed   int             `json:"failed"`
	Job      *JobStatus      `json:"job,omitempty"`      // the running job
	LastJob  *JobStatus      `json:"last_job,omitempty"` // the last finished job
	Failures []MemberFailure `json:"failures"`
}

// MemberFailure is a member that dropped out (Job 0) or whose job item its
// cardholder stream refused (Job set).
type MemberFailure struct {
	ApplicationID string             `json:"application_id"`
	CardholderID  string             `json:"cardholder_id"`
	Stage         domain.MemberStage `json:"stage"`
	Job           int                `json:"job,omitempty"`
	Code          string             `json:"code,omitempty"`
	Reason        string             `json:"reason"`
}

// MemberStatus is one person's production progress in a batch.
type MemberStatus struct {
	ApplicationID string             `json:"application_id"`
	CardholderID  string             `json:"cardholder_id"`
	IDNumber      string             `json:"id_number"` // masked
	Name          string             `json:"name"`
	Stage         domain.MemberStage `json:"stage"`
	CardNo        string             `json:"card_no,omitempty"`
	ChipID        string             `json:"chip_id,omitempty"`
	Custody       string             `json:"custody,omitempty"`
	BankConfirmed bool               `json:"bank_confirmed"`
	Reason        string             `json:"reason,omitempty"`
	// Failure: the member's item of job Failure.Job was refused by its
	// cardholder stream (retryable while that job is the batch's last).
	Failure *domain.JobFailure `json:"failure,omitempty"`
}

// Status returns the batch's step, counts per stage, running job and failures.
func (s *Service) Status(ctx context.Context, batchID string) (*BatchStatus, error) {
	b, err := s.getBatch(ctx, batchID)
	if err != nil {
		return nil, err
	}
	st := &BatchStatus{BatchID: b.ID, Step: b.Step, CreatedOn: b.CreatedOn, Filter: b.Filter, Members: len(b.Members),
		Stages: map[domain.MemberStage]int{}, Custody: b.Custody, Exports: b.Exports, Returns: b.Returns, Failures: []MemberFailure{}}
	for i, p := range b.Progress {
		st.Stages[p.Stage]++
		if p.Stage.Dropped() {
			st.Failures = append(st.Failures, MemberFailure{ApplicationID: b.Members[i].ApplicationID,
				CardholderID: b.Members[i].CardholderID, Stage: p.Stage, Reason: p.Reason})
		}
	}
	for _, i := range b.OpenFailures() {
		st.Failed++
		st.Failures = append(st.Failures, memberFailure(b, *b.Progress[i].Failure))
	}
	if j := b.Job; j != nil {
		st.Job = jobStatus(b, j.Seq)
	}
	if j := b.LastJob; j != nil {
		st.LastJob = jobStatus(b, j.Seq)
	}
	return st, nil
}

// Members returns each member's progress, optionally only those at stage.
func (s *Service) Members(ctx context.Context, batchID string, stage domain.MemberStage) ([]MemberStatus, error) {
	b, err := s.getBatch(ctx, batchID)
	if err != nil {
		return nil, err
	}
	out := []MemberStatus{}
	for i, m := range b.Members {
		p := b.Progress[i]
		if stage != "" && p.Stage != stage {
			continue
		}
		out = append(out, MemberStatus{ApplicationID: m.ApplicationID, CardholderID: m.CardholderID, IDNumber: domain.MaskIDNumber(m.IDNumber),
			Name: m.Name, Stage: p.Stage, CardNo: p.CardNo, ChipID: p.ChipID, Custody: p.Custody, BankConfirmed: p.BankConfirmed, Reason: p.Reason, Failure: p.Failure})
	}
	return out, nil
}
