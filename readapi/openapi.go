package readapi

import (
	"net/http"
	"time"

	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/projections"
)

// Examples and parameters of the read API's route table, for its OpenAPI
// document: real answers of a registered holder whose card was reported
// lost, so that every example agrees with its operation.
var (
	// exampleEmployer is an employer code (not a problem code).
	exampleEmployer = "E001"
	exampleAt       = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	exampleIssue    = "2026-02-27"
	exampleEnd      = "2036-02-27"
	exampleCard     = Card{CardNo: "A10984916", CardholderID: "5f0c1e2d3a4b5c6d7e8f90a1b2c3d4e5",
		ApplicationID: "0b8e3c1d-5a7f-4e2b-9c6d-1f2a3b4c5d6e", Kind: "first_issue", Source: "bank", Status: "lost",
		Current: true, Blacklisted: true, BankCode: "ICBC", AccountNo: "6212260200012345678",
		ChipID: "0123456789ABCDEF0123456789ABCDEF", Vendor: "icbc-instant", IssuedOn: &exampleIssue, ExpiresOn: &exampleEnd,
		Agency: "icbc-suzhou", ECardIssued: true, AppliedAt: exampleAt.Add(-3 * 24 * time.Hour),
		StatusSince: exampleAt, UpdatedAt: exampleAt, Custody: Custody{At: "holder", From: "icbc-suzhou", Handler: "icbc-suzhou"},
		History: []Step{{Step: "issued", At: exampleAt.Add(-2 * 24 * time.Hour), CardNo: "A10984916", To: "holder"}}}
	exampleCardholder = func() Cardholder {
		card := exampleCard
		card.History = nil
		registered := exampleAt.Add(-3 * 24 * time.Hour)
		return Cardholder{CardholderID: card.CardholderID, IDNumber: "11010519491231002X", Name: "张三", Sex: "female",
			BirthDate: "1949-12-31", Nationality: "CHN", RegionCode: "320508", Phone: "13800000000", EmployerCode: "E001",
			CommunityCode: "C001", RegisteredAt: &registered, UpdatedAt: exampleAt, Revision: 7,
			Application: &Application{ApplicationID: card.ApplicationID, Status: "lost", CardNo: card.CardNo},
			CurrentCard: &card, Cards: []Card{card}}
	}()
	exampleProgress = Progress{CardholderID: exampleCard.CardholderID, ApplicationID: exampleCard.ApplicationID,
		CardNo: exampleCard.CardNo, Status: "active", Steps: []Step{
			{Step: "applied", At: exampleAt.Add(-3 * 24 * time.Hour)},
			{Step: "produced", At: exampleAt.Add(-2 * 24 * time.Hour), CardNo: exampleCard.CardNo, Detail: "icbc-instant"},
			{Step: "issued", At: exampleAt.Add(-2 * 24 * time.Hour), CardNo: exampleCard.CardNo, To: "holder"}}}
	exampleHoldings = HoldingPage{Code: exampleEmployer, ByStatus: map[string]int{"active": 41, "lost": 1, "none": 3},
		Items: []Holding{{CardholderID: exampleCard.CardholderID, Name: "张三", EmployerCode: "E001", CommunityCode: "C001",
			ApplicationID: exampleCard.ApplicationID, CardNo: exampleCard.CardNo, CardStatus: "lost"}},
		NextCursor: "NWYwYzFlMmQzYTRiNWM2ZDdlOGY5MGExYjJjM2Q0ZTU"}
	failedAt        = exampleAt
	exampleFailures = HoldingPage{Code: exampleEmployer, Items: []Holding{{CardholderID: exampleCard.CardholderID, Name: "张三",
		EmployerCode: "E001", ApplicationID: exampleCard.ApplicationID, CardNo: exampleCard.CardNo, CardStatus: "applied",
		LastFailure: "chip personalisation failed", FailedAt: &failedAt}}}
	exampleListed = BlacklistEntry{CardNo: "A10984916", Listed: true, Reason: "lost", Since: &exampleAt}
	exampleReady  = Readiness{Ready: true, Dependencies: []DependencyStatus{{Name: "postgresql", OK: true},
		{Name: "clickhouse", Optional: true, OK: true}},
		Projections: []projections.Report{{Status: projections.Status{Name: "readmodel", Active: true,
			Checkpoint: "2ded3-2ded3", Head: "2ded3-2ded3", Applied: 1042}, Ready: true}}}
	exampleNotReady = Readiness{Ready: false, Dependencies: []DependencyStatus{{Name: "postgresql", OK: false,
		Error: "dial tcp 127.0.0.1:5432: connect: connection refused"}}, Projections: []projections.Report{}}

	paging = []httpapi.Param{
		httpapi.Query("limit", "Page size, 1 to 1000 (default 100)", 100),
		httpapi.Query("cursor", "next_cursor of the previous page", "NWYwYzFlMmQzYTRiNWM2ZDdlOGY5MGExYjJjM2Q0ZTU"),
		httpapi.MinPosition,
	}
	minPosition = []httpapi.Param{httpapi.MinPosition}
	// notFound is a missing cardholder or card (or application).
	notFound = httpapi.Problems(http.StatusNotFound)
	// csvFormat selects CSV on the statistics.
	csvFormat = httpapi.Query("format", "csv for CSV (key,count); default JSON, or CSV when Accept asks for text/csv", "csv").
			OneOf("json", "csv")
)
