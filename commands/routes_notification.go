package commands

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// notificationPreferencesBody is the body of POST
// /v1/cardholders/{id}/notification-preferences; true refuses the medium,
// absent or false receives it.
type notificationPreferencesBody struct {
	SMSOptOut   bool `json:"sms_opt_out,omitempty"`
	EmailOptOut bool `json:"email_opt_out,omitempty"`
}

// notificationRoutes is the holder's notification opt-out (issue 16 item
// 5), through the one write pipeline like every other change of the holder.
func (a *API) notificationRoutes() []httpapi.Route {
	return []httpapi.Route{
		commandRoute(a, httpapi.Route{
			Method: http.MethodPost, Path: "/v1/cardholders/{id}/notification-preferences", Roles: rolesChannelCounter,
			Summary: "Set which notification media the holder refuses (docs/notifications.md): sms_opt_out, email_opt_out; " +
				"both false receives both. At the counter, or by a channel bound to the holder under consent contact. " +
				"Records NotificationPreferencesSet; the same preferences again are notification_preferences_unchanged",
			Request:   notificationPreferencesBody{SMSOptOut: true},
			Responses: []httpapi.Response{channelForbidden},
		}, false, func(ctx context.Context, c echo.Context, env Envelope, b notificationPreferencesBody) (Result, error) {
			p, _ := httpapi.PrincipalFrom(c)
			if p.Channel != "" {
				// The channel rule (checkChannel): bound to this channel,
				// with the holder's consent to manage their contact.
				env.Consent = domain.ConsentContact
			}
			cmd := domain.SetNotificationPreferences{SMSOptOut: b.SMSOptOut, EmailOptOut: b.EmailOptOut, Channel: p.Channel}
			return a.svc.Cardholder.Handle(ctx, CardholderCommand{Envelope: env, CardholderID: c.Param("id"), Command: cmd})
		}),
	}
}
