package commands

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// answer is what a command leads to, for the example of its answer: the
// card status after it and the events it appends.
type answer struct {
	status domain.CardStatus
	events []string
}

// answers are the example answers of the command routes, by path, so that
// no example contradicts its operation (a loss answers "lost"). A command
// route without one panics when the table is built.
var answers = map[string]answer{
	"/v1/cardholders":                           {"", []string{"CardholderRegistered"}},
	"/v1/cardholders/{id}/applications":         {domain.StatusApplied, []string{"CardApplied"}},
	"/v1/cardholders/{id}/bank-account":         {domain.StatusAccountOpened, []string{"BankAccountOpened"}},
	"/v1/cardholders/{id}/bank-account-refusal": {domain.StatusApplied, []string{"BankAccountRefused"}},
	"/v1/cardholders/{id}/card-number":          {domain.StatusAccountOpened, []string{"CardNumberAssigned"}},
	"/v1/cardholders/{id}/instant-issuance": {domain.StatusActive, []string{"CardApplied", "BankAccountOpened",
		"CardNumberAssigned", "CardProduced", "CardIssued", "CardActivated"}},
	"/v1/cardholders/{id}/erasure":           {domain.StatusActive, []string{"CardholderErased"}},
	"/v1/cards/{card_no}/production":         {domain.StatusProduced, []string{"CardProduced"}},
	"/v1/cards/{card_no}/production-failure": {domain.StatusAccountOpened, []string{"CardProductionFailed"}},
	"/v1/cards/{card_no}/handovers":          {domain.StatusProduced, []string{"CardHandedOver"}},
	"/v1/cards/{card_no}/issue":              {domain.StatusIssued, []string{"CardIssued"}},
	"/v1/cards/{card_no}/activation":         {domain.StatusActive, []string{"CardActivated"}},
	"/v1/cards/{card_no}/loss":               {domain.StatusLost, []string{"CardReportedLost"}},
	"/v1/cards/{card_no}/temporary-loss":     {domain.StatusTemporarilyLost, []string{"CardTemporarilyLost"}},
	"/v1/cards/{card_no}/unlock":             {domain.StatusActive, []string{"CardUnlocked"}},
	"/v1/cards/{card_no}/cancellation":       {domain.StatusCancelled, []string{"CardCancelled"}},
	"/v1/cards/{card_no}/restoration":        {domain.StatusActive, []string{"CardCancellationRestored"}},
	"/v1/cards/{card_no}/replacement":        {domain.StatusApplied, []string{"CardCancelled", "CardApplied"}},
	"/v1/cards/{card_no}/pin-reset":          {domain.StatusActive, []string{"PINReset"}},
	"/v1/cards/{card_no}/pin-change":         {domain.StatusActive, []string{"PINChanged"}},
	"/v1/cards/{card_no}/transfer":           {domain.StatusTransferred, []string{"CardholderTransferredOut"}},
	"/v1/cards/{card_no}/ecard":              {domain.StatusActive, []string{"ECardIssued"}},
	"/v1/cards/{card_no}/ecard/revocation":   {domain.StatusActive, []string{"ECardRevoked"}},

	// E-card channels (routes_ecard.go).
	"/v1/ecard/bindings":                                     {domain.StatusActive, []string{"ConsentGranted", "ECardIssued"}},
	"/v1/cardholders/{id}/ecard/unbinding":                   {domain.StatusActive, []string{"ECardChannelUnbound", "ConsentRevoked"}},
	"/v1/cardholders/{id}/consents":                          {domain.StatusActive, []string{"ConsentGranted"}},
	"/v1/cardholders/{id}/consents/{channel}/revocation":     {domain.StatusActive, []string{"ConsentRevoked"}},
	"/v1/cardholders/{id}/self-service/temporary-loss":       {domain.StatusTemporarilyLost, []string{"CardTemporarilyLost"}},
	"/v1/cardholders/{id}/self-service/unlock":               {domain.StatusActive, []string{"CardUnlocked"}},
	"/v1/cardholders/{id}/self-service/cancellation-request": {domain.StatusActive, []string{"CardCancellationRequested"}},
	"/v1/cardholders/{id}/self-service/activation":           {domain.StatusActive, []string{"CardActivated"}},
	"/v1/cardholders/{id}/self-service/phone":                {domain.StatusActive, []string{"PhoneChanged"}},
	"/v1/cardholders/{id}/self-service/instant-application":  {domain.StatusApplied, []string{"CardCancelled", "CardApplied", "ECardCarriedOver"}},

	// Personal data upkeep (routes_correction.go).
	"/v1/cardholders/{id}/corrections":      {domain.StatusActive, []string{"PersonalDataCorrected"}},
	"/v1/cardholders/{id}/id-number-change": {domain.StatusApplied, []string{"IdentityMovedIn", "CardholderRegistered", "CardApplied"}},

	// Notification opt-out (routes_notification.go).
	"/v1/cardholders/{id}/notification-preferences": {domain.StatusActive, []string{"NotificationPreferencesSet"}},
	// Photos (routes_photo.go).
	"/v1/cardholders/{id}/photo": {domain.StatusActive, []string{"PhotoCollected"}},

	// The provincial card database (routes_province.go).
	"/v1/cardholders/{id}/transfer-in":                   {domain.StatusActive, []string{"CardTransferredIn"}},
	"/v1/cards/{card_no}/provincial-record/cancellation": {domain.StatusCancelled, []string{"ProvincialRecordCancelled"}},
}

// exampleAnswer is the example answer of the command at path.
func exampleAnswer(path string) CommandResponse {
	a, ok := answers[path]
	if !ok {
		panic(fmt.Sprintf("commands: route POST %s has no example answer; add it to answers (commands/openapi.go)", path))
	}
	// A card command comes after registration, application and issue.
	out := CommandResponse{CardholderID: "5f0c1e2d3a4b5c6d7e8f90a1b2c3d4e5", Revision: uint64(5 + len(a.events)),
		Position: "2ded3-2ded3", Events: a.events}
	if a.status != "" {
		out.CardNo, out.CardStatus, out.ApplicationID = "A10984916", a.status, "0b8e3c1d-5a7f-4e2b-9c6d-1f2a3b4c5d6e"
	}
	if a.status == domain.StatusApplied {
		out.CardNo = "" // numbered later
	}
	if path == "/v1/cardholders" {
		out.Revision = 0
	}
	return out
}

// commandParams are the headers every command reads.
var commandParams = []httpapi.Param{httpapi.IdempotencyKey, httpapi.IfMatch, httpapi.Operator}

// commandProblems are the refusals of a command besides the plumbing's.
var commandProblems = []httpapi.Response{
	{Status: http.StatusNotFound, Description: "No such cardholder or card (cardholder_not_found, card_not_found)"},
	{Status: http.StatusConflict, Description: "A business rule refuses the command in the current state; the code names it"},
	{Status: http.StatusPreconditionFailed, Description: "If-Match names a revision the stream has moved on from"},
	{Status: http.StatusUnprocessableEntity, Description: "An Idempotency-Key reused with another request (idempotency_key_reused)"},
}

// replayed documents Idempotent-Replayed on command answers.
var replayed = httpapi.Header(HeaderReplayed, "true when the answer is the stored one of an earlier request with the same Idempotency-Key", "true")

// Examples of the read routes of this API.
var (
	exampleRecordedAt = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	exampleHistory    = historyResponse{Events: []HistoryEvent{
		{Type: "CardReportedLost", Data: json.RawMessage(`{"card_no":"A10984916","reason":"lost on the bus"}`),
			Metadata: json.RawMessage(`{"client":"counter-futian","operator":"窗口01","channel":"http"}`),
			Revision: 7, Position: "2ded3-2ded3", RecordedAt: exampleRecordedAt},
	}}
	exampleState = func() StateView {
		card := CardView{ApplicationID: "0b8e3c1d-5a7f-4e2b-9c6d-1f2a3b4c5d6e", Source: domain.SourceBank,
			Kind: domain.FirstIssue, CardNo: "A10984916", Status: domain.StatusLost, BankCode: "ICBC",
			AccountNo: "6212260200012345678", ChipID: "0123456789ABCDEF0123456789ABCDEF", IssuedOn: "2026-02-27",
			ExpiresOn: "2036-02-27", Agency: "icbc-suzhou", ECardIssued: true, BeforeLoss: domain.StatusActive}
		return StateView{CardholderID: "5f0c1e2d3a4b5c6d7e8f90a1b2c3d4e5", Revision: 7, Registered: true,
			Profile: ProfileView{IDNumber: "11010519491231002X", Name: "张三", Sex: domain.Female, BirthDate: "1949-12-31",
				Nationality: "CHN", RegionCode: "320508", Phone: "13800000000", EmployerCode: "E001", CommunityCode: "C001"},
			Card: &card, PastCards: []CardView{}}
	}()
	notFound = httpapi.Response{Status: http.StatusNotFound, Description: "No such cardholder or card"}
	etagOK   = func(body any) httpapi.Response {
		return httpapi.Response{Status: http.StatusOK, Body: body, Headers: []httpapi.Param{httpapi.ETagHeader}}
	}
)
