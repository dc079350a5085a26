package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/httpapi"
)

type (
	transferInBody struct {
		CardNo string `json:"card_no"`
		Reason string `json:"reason,omitempty"`
	}
	provincialCancelBody struct {
		Reason string `json:"reason"`
	}
	provinceUploadBody struct {
		// FromPosition is the until_position of the previous upload; "" is
		// the start of the log (every card).
		FromPosition string `json:"from_position,omitempty"`
	}
)

var (
	exampleProvincialCards = ProvincialCards{CardholderID: "077a70c7d1e5f0a9b3c4d5e6f7a8b9c0", BlockedBy: "B10000001",
		Cards: []ProvincialCardRow{{ProvincialCard: domain.ProvincialCard{CardNo: "B10000001", Region: "110105",
			Status: domain.StatusActive, IssuedOn: "2020-06-01", BankCode: "105", Generation: domain.GenerationThird}, Elsewhere: true}}}
	exampleUploadReport = UploadReport{From: "2ded3-1", Until: "2e0a1-1", Holders: 120, Records: 131, Rejected: []UploadRejection{
		{CardNo: "A10000007", Code: "card_of_another_region", Message: "card A10000007 is recorded for region 110105"}}}
	provinceUnavailable = httpapi.Response{Status: http.StatusServiceUnavailable, Description: "province_unavailable: the " +
		"provincial card database did not answer in time, answered 5xx or garbage, or none is configured; nothing was recorded, retry"}
	provinceRefused = httpapi.Response{Status: http.StatusBadGateway, Description: "province_refused: the province refused the request (its code in detail)"}
)

// provinceRoutes are the provincial card database's routes (省持卡库,
// docs/province.md).
func (a *API) provinceRoutes() []httpapi.Route {
	return []httpapi.Route{
		{
			Method: http.MethodGet, Path: "/v1/cardholders/{id}/provincial-cards", Roles: rolesReaders,
			Summary: "Download the province's records of the holder's cards (下载异地卡信息): each card's region and status, whether " +
				"it is a valid card of another city (elsewhere) or one of the holder's cards here; first_issue_blocked_by names the " +
				"card that refuses a first issue here (card_held_elsewhere) until it is transferred in",
			Response:  exampleProvincialCards,
			Responses: []httpapi.Response{notFound, provinceUnavailable, provinceRefused},
			Handler:   a.provincialCards,
		},
		commandRoute(a, httpapi.Route{
			Method: http.MethodPost, Path: "/v1/cardholders/{id}/transfer-in", Roles: rolesCounter,
			Summary: "Transfer a card of another city in (地市卡转移, inbound): the province moves its record to the holder's region " +
				"and the card becomes the holder's current card here (CardTransferredIn), issued or active as it was. " +
				"The holder must have no valid card here (valid_card_exists); a retry after a lost answer finishes the transfer",
			Request:   transferInBody{CardNo: "B10000001", Reason: "moved from Beijing"},
			Responses: []httpapi.Response{provinceUnavailable, provinceRefused},
		}, false, func(ctx context.Context, c echo.Context, env Envelope, b transferInBody) (Result, error) {
			return a.svc.Province.TransferIn(ctx, TransferIn{Envelope: env, CardholderID: c.Param("id"), CardNo: b.CardNo, Reason: b.Reason})
		}),
		commandRoute(a, httpapi.Route{
			Method: http.MethodPost, Path: "/v1/cards/{card_no}/provincial-record/cancellation", Roles: rolesCounter,
			Summary: "Cancel the province's record of a cancelled card of this city (注销省厅卡信息), current or past; " +
				"a card still valid here is refused (card_still_valid), a second cancellation provincial_record_cancelled",
			Request:   provincialCancelBody{Reason: "card destroyed at the counter"},
			Responses: []httpapi.Response{provinceUnavailable, provinceRefused},
		}, false, func(ctx context.Context, c echo.Context, env Envelope, b provincialCancelBody) (Result, error) {
			return a.svc.Province.CancelRecord(ctx, CancelProvincialRecord{Envelope: env, CardNo: c.Param("card_no"), Reason: b.Reason})
		}),
		{
			Method: http.MethodPost, Path: "/v1/province/uploads", Roles: rolesAdmin,
			Summary: fmt.Sprintf("Upload this city's card records to the province (省持卡库上传), incrementally: every card of the holders "+
				"whose streams changed after from_position (at most %d holders a call; more says whether to call again from "+
				"until_position). The province upserts by card number, so uploading again is harmless", MaxUploadHolders),
			Request: provinceUploadBody{FromPosition: "2ded3-1"}, RequestOptional: true,
			Response:  exampleUploadReport,
			Responses: []httpapi.Response{provinceUnavailable, provinceRefused},
			Handler:   a.provinceUpload,
		},
		{
			Method: http.MethodGet, Path: "/v1/province/records", Roles: rolesAdmin,
			Summary: "The upload as a file (JSON Lines, docs/province.md): one record per card of the holders whose streams changed " +
				"after from_position, then a last line {\"until_position\":…,\"more\":…}",
			Params: []httpapi.Param{httpapi.Query("from_position", "Where the previous file ended (until_position); default the start", "2ded3-1")},
			Responses: []httpapi.Response{{Status: http.StatusOK, ContentType: "application/x-ndjson",
				Body: `{"id_number":"44030419900307123X","name":"张三","card_no":"A10984916","region":"440304","status":"active","issued_on":"2026-12-05","bank_code":"102","generation":"second"}` + "\n" +
					`{"until_position":"2e0a1-1","more":false}` + "\n"}},
			Handler: a.provinceRecords,
		},
	}
}

func (a *API) provincialCards(c echo.Context) error {
	env, err := envelopeFrom(c)
	if err != nil {
		return err
	}
	out, err := a.svc.Province.Cards(c.Request().Context(), env, c.Param("id"))
	if err != nil {
		return a.commandError(err)
	}
	return c.JSON(http.StatusOK, out)
}

func positionParam(field, s string) (eventstore.Position, error) {
	pos, err := eventstore.ParsePosition(s)
	if err != nil {
		return pos, httpapi.BadRequest("invalid_request", "not a log position", httpapi.FieldError{Field: field, Code: domain.CodeInvalidValue, Message: err.Error()})
	}
	return pos, nil
}

func (a *API) provinceUpload(c echo.Context) error {
	var b provinceUploadBody
	if err := httpapi.DecodeOptionalJSON(c, &b); err != nil {
		return err
	}
	from, err := positionParam("from_position", b.FromPosition)
	if err != nil {
		return err
	}
	rep, err := a.svc.Province.Upload(c.Request().Context(), from)
	if err != nil {
		return a.commandError(err)
	}
	return c.JSON(http.StatusOK, rep)
}

func (a *API) provinceRecords(c echo.Context) error {
	from, err := positionParam("from_position", c.QueryParam("from_position"))
	if err != nil {
		return err
	}
	records, _, until, more, err := a.svc.Province.Records(c.Request().Context(), from)
	if err != nil {
		return a.commandError(err)
	}
	c.Response().Header().Set(echo.HeaderContentType, "application/x-ndjson")
	c.Response().WriteHeader(http.StatusOK)
	enc := json.NewEncoder(c.Response())
	for _, r := range records {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return enc.Encode(struct {
		Until string `json:"until_position"`
		More  bool   `json:"more"`
	}{until.String(), more})
}
