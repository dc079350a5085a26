package platform

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/cardledger/cardledger/internal/httpapi"
)

// Problem codes of spent limits (429).
const (
	CodeAppQuotaExceeded        = "app_quota_exceeded"
	CodeRegistrationRateLimited = "registration_rate_limited"
)

// CodeAppChannel: the app called for a channel it does not serve (403):
// e.g. scanning a payment code (ecard_qr) by an app without that channel.
const CodeAppChannel = "app_channel_not_served"

// appClientPrefix starts the client name of every app ("app-<app id>").
const appClientPrefix = "app-"

// Quota is httpapi.Options.AppQuota: it spends one request of the calling
// app's quotas, or answers 429 app_quota_exceeded with Retry-After set to
// the end of the spent window.
func (a *API) Quota(ctx context.Context, p httpapi.Principal) error {
	app, err := getAppOfClient(ctx, a.db, p.Client)
	if errors.Is(err, errNoApp) {
		// An app client whose row is missing was never completed: refuse.
		return httpapi.NewProblem(http.StatusForbidden, httpapi.CodeAppScope, "the app is not registered")
	}
	if err != nil {
		return err
	}
	now := a.clock()
	full, err := spend(ctx, a.db, appClientPrefix+app.AppID, windowOf("minute", now, app.PerMinute), windowOf("day", now, app.PerDay))
	if err != nil {
		return err
	}
	if full != nil {
		secs := max(1, int(full.End.Sub(now).Seconds()+0.999))
		p := httpapi.NewProblem(http.StatusTooManyRequests, CodeAppQuotaExceeded,
			fmt.Sprintf("the app's quota of %d requests per %s is spent; retry after %d s", full.Limit, full.Period, secs))
		p.RetryAfter = secs
		return p
	}
	return nil
}
