package batch

import (
	"net/http"
	"time"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// Examples of the batch API's answers for its OpenAPI document: one batch,
// B20250301-01, of 8 people whose bank return has been applied.
var (
	exampleAt       = time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)
	exampleFinished = exampleAt.Add(12 * time.Second)
	exampleCSV      = "身份证号码,姓名,性别,国籍,行政区划代码,手机号码,单位编号,社区编号,银行编码,照片编号\n" +
		"320505198506121003,王芳,,CHN,320505,13800138000,E001,C01,102,photos/2025/000.jpg\n"
	exampleReturnFile = "H|CLB1|bank_open_return|B20250301-01|2025-03-01|1\n" +
		"D|1|app-000|320505198506121003|0|6212260200012345678|\n"
	exampleImport = ImportJob{ImportID: "imp-5b2e9c1a", State: ImportFinished, SHA256: "9f2c4e0a7b1d3c5e8f6a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f60718293a4",
		Encoding: "UTF-8", Rows: 1, StartedAt: exampleAt, FinishedAt: &exampleFinished, Report: &ImportReport{
			SHA256: "9f2c4e0a7b1d3c5e8f6a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f60718293a4", Encoding: "UTF-8", Rows: 1, Imported: 1,
			Lines: []ImportRow{{Line: 2, IDNumber: "**************1003", Status: "imported",
				CardholderID: "5f0c1e2d3a4b5c6d7e8f90a1b2c3d4e5", ApplicationID: "app-000"}}}}
	exampleRunning = ImportJob{ImportID: "imp-5b2e9c1a", State: ImportRunning, SHA256: exampleImport.SHA256,
		Encoding: "UTF-8", Rows: 1, StartedAt: exampleAt}
	exampleJob = JobStatus{BatchID: "B20250301-01", Job: 1, Kind: domain.JobBankReturn, State: JobRunning, Items: 8, Done: 3,
		Counts: map[string]int{"account_opened": 3}, Failures: []MemberFailure{}, Elapsed: "1.2s"}
	exampleJobDone = JobStatus{BatchID: "B20250301-01", Job: 1, Kind: domain.JobBankReturn, State: JobFinished, Items: 8, Done: 8,
		Counts: map[string]int{"account_opened": 7, "account_refused": 1}, Failures: []MemberFailure{}, Elapsed: "3.4s"}
	exampleStatus = BatchStatus{BatchID: "B20250301-01", Step: domain.StepBankApplied, CreatedOn: "2025-03-01",
		Filter: domain.BatchFilter{RegionCode: "320505", Source: domain.SourceBatch}, Members: 8,
		Stages: map[domain.MemberStage]int{domain.MemberAccountOpened: 7, domain.MemberAccountRefused: 1},
		Exports: map[domain.BatchFileKind]domain.BatchFileExported{domain.FileBankOpen: {File: domain.FileBankOpen,
			SHA256: "3a1f0c9e7d5b2a4c6e8f0a1b3c5d7e9f2a4b6c8d0e1f3a5b7c9d1e3f5a7b9c0d", Lines: 8}},
		Returns: map[domain.BatchFileKind]domain.BatchReturnAccepted{domain.FileBankOpenReturn: {File: domain.FileBankOpenReturn,
			SHA256: "7c9e1a3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c", Lines: 8, Job: 1}},
		LastJob: &exampleJobDone, Failures: []MemberFailure{{ApplicationID: "app-001", CardholderID: "6a1b2c3d4e5f60718293a4b5c6d7e8f9",
			Stage: domain.MemberAccountRefused, Reason: "身份信息核验不通过"}}, Failed: 0}
	exampleCreated = BatchStatus{BatchID: "B20250301-01", Step: domain.StepCreated, CreatedOn: "2025-03-01",
		Filter: domain.BatchFilter{RegionCode: "320505", Source: domain.SourceBatch}, Members: 8,
		Stages:  map[domain.MemberStage]int{domain.MemberSelected: 8},
		Exports: map[domain.BatchFileKind]domain.BatchFileExported{}, Returns: map[domain.BatchFileKind]domain.BatchReturnAccepted{},
		Failures: []MemberFailure{}}
	exampleList    = []BatchSummary{{BatchID: "B20250301-01", CreatedOn: "2025-03-01", Members: 8, JobActive: false}}
	exampleMembers = []MemberStatus{{ApplicationID: "app-000", CardholderID: "5f0c1e2d3a4b5c6d7e8f90a1b2c3d4e5",
		IDNumber: "**************1003", Name: "王芳", Stage: domain.MemberAccountOpened, CardNo: "A10984916", BankConfirmed: true}}
	exampleReturn = ReturnReport{BatchID: "B20250301-01", File: domain.FileBankOpenReturn,
		SHA256: "7c9e1a3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c", Lines: 8, OK: 7, Failed: 1, Accepted: true,
		Job: &exampleJob}
	exampleExport = "H|CLB1|bank_open|B20250301-01|2025-03-01|1\nD|1|app-000|320505198506121003|王芳|2|19850612|CHN|320505|102\n"
	examplePSAM   = domain.PSAM{Serial: "PS00012345", Status: domain.PSAMStatusIssued, Model: "M1", Warehouse: "central",
		Agency: "bank-102-suzhou", TerminalID: "T0001"}
	exampleStock = PSAMStock{Agency: "bank-102-suzhou", ByStatus: map[string]int{"issued": 1},
		Cards: []PSAMCard{{Serial: "PS00012345", Status: "issued", Model: "M1", Warehouse: "central", TerminalID: "T0001"}}}

	// refused are a batch step's refusals: no such batch or job, or the
	// batch is not at a step that allows it.
	refused = httpapi.Problems(http.StatusNotFound, http.StatusConflict)
	// jobAnswers are the answers of routes that start a job.
	jobAnswers = append([]httpapi.Response{
		{Status: http.StatusAccepted, Body: exampleJob, Headers: []httpapi.Param{httpapi.LocationHeader},
			Description: "The job started; follow Location"},
		{Status: http.StatusOK, Body: exampleJobDone, Headers: []httpapi.Param{httpapi.LocationHeader},
			Description: "The job had already finished (a repeated request)"}}, refused...)
	operator = []httpapi.Param{httpapi.Operator}
)
