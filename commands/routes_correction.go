package commands

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// correctionBody is the body of POST /v1/cardholders/{id}/corrections.
type correctionBody struct {
	Field  domain.CorrectionField `json:"field"`
	Value  string                 `json:"value"`
	Reason string                 `json:"reason"`
}

// correctionRoutes is personal data upkeep (个人信息修正, issue 16 item 4).
func (a *API) correctionRoutes() []httpapi.Route {
	return []httpapi.Route{
		commandRoute(a, httpapi.Route{
			Method: http.MethodPost, Path: "/v1/cardholders/{id}/corrections", Roles: rolesChannelCounter,
			Summary: "Correct the holder's name, phone, employer_code, community_code, email (实名邮箱, where notifications go) or the current card's photo_ref, " +
				"with a required reason; the operator (X-Operator) is in the event's metadata. A channel corrects only the phone " +
				"(phone_only_through_channel) of a holder bound to it, under consent contact. A phone correction records " +
				"PhoneChanged, the others PersonalDataCorrected; refused once the holder is erased (already_erased) or for " +
				"the value the holder has (correction_unchanged)",
			Request:   correctionBody{Field: domain.CorrectName, Value: "张叁", Reason: "typo at registration (户口簿 shows 张叁)"},
			Responses: []httpapi.Response{channelForbidden},
		}, false, func(ctx context.Context, c echo.Context, env Envelope, b correctionBody) (Result, error) {
			p, _ := httpapi.PrincipalFrom(c)
			cmd := domain.CorrectPersonalData{Field: b.Field, Value: b.Value, Reason: b.Reason, Channel: p.Channel}
			if p.Channel != "" {
				// The channel rule (checkChannel): bound to this channel,
				// with the holder's consent to change their contact.
				env.Consent = domain.ConsentContact
			}
			return a.svc.Cardholder.Handle(ctx, CardholderCommand{Envelope: env, CardholderID: c.Param("id"), Command: cmd})
		}),
		a.identityRoute(),
	}
}
