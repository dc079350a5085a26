package analytics

import (
	"net/http"
	"time"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// Examples and parameters of the analytics routes, for their OpenAPI
// document: figures of the demo city (苏州, 320500) and one of its people.
var (
	exampleFlows = FlowsResponse{Flows: []Flow{{HomeRegion: "320500", UseRegion: "320500", Count: 1824, Amount: "90412.50"},
		{HomeRegion: "320500", UseRegion: "310100", Count: 37, Amount: "4120.00"}}}
	exampleSpending = SpendingResponse{Rows: []SpendingMonth{{Month: "2025-03", LocalAmount: "90412.50", RemoteAmount: "4120.00", Count: 1861}}}
	exampleCats     = CategoriesResponse{Categories: []Category{{Category: "drugs", Count: 912, Amount: "35120.40"},
		{Category: "medical_treatment", Count: 604, Amount: "41007.10"}}}
	exampleStats = UsageStats{Count: 1861, Amount: "94532.50", People: 412, IdentityAuths: 96, RightsQueries: 240,
		PerPerson: PerPerson{Count: "4.52", Amount: "229.45"},
		ByKind:    []KindStats{{Kind: "medical_settlement", Count: 1525, Amount: "94532.50"}, {Kind: "identity_auth", Count: 96, Amount: "0.00"}}}
	exampleTop = TopPeopleResponse{People: []PersonStats{{CardholderID: "5f0c1e2d3a4b5c6d7e8f90a1b2c3d4e5", Count: 31,
		Amount: "2210.80", IdentityAuths: 2, RightsQueries: 5}}}
	exampleCross = CrossRegionResponse{
		Total:  CrossRegion{HomeRegion: "all", Count: 1861, RemoteCount: 37, RemoteShare: "0.0199", RemoteAmount: "4120.00", RemotePeople: 12},
		ByHome: []CrossRegion{{HomeRegion: "320500", Count: 1861, RemoteCount: 37, RemoteShare: "0.0199", RemoteAmount: "4120.00", RemotePeople: 12}}}
	exampleLifecycle = LifecycleResponse{Rows: []LifecycleMonth{{Month: "2025-03", Registered: 120, Applied: 118, Issued: 97,
		Lost: 4, TemporarilyLost: 2, Unlocked: 1, Cancelled: 3, Replacements: 2, ECardsIssued: 60, TransferredIn: 3, TransferredOut: 1,
		Migrated: 15, BlacklistAdded: 6,
		BlacklistRemoved: 1, BlacklistSize: 42}}}
	exampleUses = HistoryResponse{Uses: []Use{{At: time.Date(2025, 3, 10, 1, 30, 0, 0, time.UTC), RecordID: "hosp-42-000123",
		CardNo: "A10984916", Kind: "medical_settlement", Channel: "card", Amount: "128.40", RegionCode: "320508",
		Merchant: "苏州市立医院", Category: "medical_treatment"}}}
	exampleProfile = Profile{Count: 31, Amount: "2210.80", RemoteCount: 2,
		Channels:   []Share{{Key: "card", Count: 25, Amount: "1980.80"}, {Key: "ecard", Count: 6, Amount: "230.00"}},
		Kinds:      []Share{{Key: "medical_settlement", Count: 31, Amount: "2210.80"}},
		Places:     []Share{{Key: "320508", Count: 29, Amount: "2090.80"}, {Key: "310101", Count: 2, Amount: "120.00"}},
		Categories: []Share{{Key: "drugs", Count: 20, Amount: "1210.80"}, {Key: "medical_treatment", Count: 11, Amount: "1000.00"}},
		Hours:      []uint64{0, 0, 0, 0, 0, 0, 0, 1, 3, 6, 5, 3, 1, 2, 4, 3, 2, 1, 0, 0, 0, 0, 0, 0}}
	exampleDashboard = DashboardData{City: "苏州市", Months: 12, PartialMonth: "2025-03", From: "2024-04-01", To: "2025-03-10",
		Flows: exampleFlows.Flows, Spending: exampleSpending.Rows, Categories: exampleCats.Categories, Lifecycle: exampleLifecycle.Rows,
		Lag:    &Lag{Seconds: 0.4, CaughtUp: false, Checkpoint: "2ded3-2ded3"},
		Cities: map[string]string{"320500": "苏州市", "310100": "上海市"}, CategoryNames: map[string]string{"drugs": "药品", "medical_treatment": "门诊诊疗"}}
	exampleRejected = func() UsageProblem {
		p := httpapi.NewProblem(http.StatusUnprocessableEntity, CodeUsageRecordsRejected, "1 of 2 records were refused; the others were recorded",
			httpapi.FieldError{Field: "records[1].card_no", Code: domain.CodeCardNotFound, Message: "no card A99999999"})
		return UsageProblem{Problem: *p, UsageResponse: UsageResponse{Recorded: 1, Rejected: 1, Position: "2ded3-2ded3"}}
	}()

	window = []httpapi.Param{
		httpapi.Query("from", "First day (YYYY-MM-DD, China time); default the first day of the month eleven months before to", "2024-04-01"),
		httpapi.Query("to", "Last day, included (YYYY-MM-DD); default today", "2025-03-31"),
		httpapi.Query("format", "csv for CSV (header row first); default JSON, or CSV when Accept asks for text/csv", "csv").OneOf("json", "csv"),
	}
	// extraParams are the parameters some analyses read besides the window.
	extraParams = map[string][]httpapi.Param{
		"/v1/analytics/spending":                       {httpapi.Query("by", "Grouping; only month", "month").OneOf("month")},
		"/v1/analytics/categories":                     {httpapi.Query("limit", "At most this many categories, 1 to 1000 (default 20)", 20)},
		"/v1/analytics/usage-stats/people":             {httpapi.Query("top", "This many people, 1 to 1000 (default 20)", 20)},
		"/v1/analytics/people/{cardholder_id}/history": {httpapi.Query("limit", "At most this many uses, 1 to 10000 (default 1000)", 1000)},
		"/v1/analytics/cards/{card_no}/history":        {httpapi.Query("limit", "At most this many uses, 1 to 10000 (default 1000)", 1000)},
	}
	// exampleCSV is the CSV form of the analyses (the flows shown).
	exampleCSV = "home_region,use_region,count,amount\n320500,320500,1824,90412.50\n320500,310100,37,4120.00\n"
)
