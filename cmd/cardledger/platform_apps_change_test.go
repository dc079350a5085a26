package main

import (
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/platform"
)

// secondInstance serves the rig's database from another app (its own
// caches and pools, no projections): a second instance.
func secondInstance(t *testing.T, r *ecardRig) payAPI {
	t.Helper()
	env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return r.vars[k] }}
	d, err := parseConfig(env, flag.NewFlagSet("second", flag.ContinueOnError), nil)
	require.NoError(t, err)
	a, err := buildApp(r.ctx, d)
	require.NoError(t, err)
	e, err := a.server(r.ctx)
	require.NoError(t, err)
	srv := httptest.NewServer(e)
	t.Cleanup(func() { srv.Close(); a.close() })
	return payAPI{t: t, ctx: r.ctx, url: srv.URL}
}

// An app's channels (changed by its account) and quotas (by an
// administrator) after creation: events of the account's stream, and the
// checks of another instance follow them from the answer on: a payment
// code is scanned only by an app serving ecard_qr (403
// app_channel_not_served, nothing recorded), and the quota in force is the
// new one (429). The same change again records nothing; bad values are 400
// naming the field; the account may not set its quotas, another account
// may not touch its channels.
func TestAppChannelsAndQuotasChangeAfterCreation(t *testing.T) {
	r, p, w := startPayments(t)
	other := secondInstance(t, r)
	admin := bearerCred(r.keys["admin"])
	integrator := bearerCred(w.integrator)
	const notify = "http://127.0.0.1:9/notify"
	holder := payHolder(p, r.keys["admin"], r.keys["app"], 1)
	order := p.must(http.StatusCreated, http.MethodPost, "/v1/payment/orders", w.app, w.order("C-1", 1000, notify))["id"].(string)
	appPath := "/v1/platform/apps/" + w.appID

	// Channels: online confirmation only; the other instance refuses the scan.
	changed := p.must(http.StatusOK, http.MethodPut, appPath+"/channels", integrator,
		map[string]any{"channels": []string{domain.AppChannelECardOnline}})
	assert.Equal(t, []any{domain.AppChannelECardOnline}, changed["channels"])
	code := paymentCode(p, r.keys["app"], holder)
	before := eventCount(t, r)
	status, body := other.call(http.MethodPost, "/v1/payment/orders/"+order+"/payment", w.app, map[string]any{"payment_code": code})
	assert.Equal(t, []any{http.StatusForbidden, platform.CodeAppChannel}, []any{status, body["code"]}, "%v", body)
	assert.Equal(t, before, eventCount(t, r), "nothing recorded")

	// Back: the same code pays on the other instance.
	p.must(http.StatusOK, http.MethodPut, appPath+"/channels", integrator,
		map[string]any{"channels": []string{domain.AppChannelECardQR, domain.AppChannelECardOnline}})
	paid := other.must(http.StatusOK, http.MethodPost, "/v1/payment/orders/"+order+"/payment", w.app, map[string]any{"payment_code": code})
	assert.Equal(t, "paid", paid["status"])
	before = eventCount(t, r)
	p.must(http.StatusOK, http.MethodPut, appPath+"/channels", integrator,
		map[string]any{"channels": []string{domain.AppChannelECardOnline, domain.AppChannelECardQR}})
	assert.Equal(t, before, eventCount(t, r), "the same channels again: nothing recorded")

	// Quotas: the account may not; the administrator sets them so that
	// two more calls fit today, and the other instance counts against them.
	status, body = p.call(http.MethodPut, appPath+"/quotas", integrator, map[string]any{"per_minute": 1, "per_day": 1})
	assert.Equal(t, []any{http.StatusForbidden, "forbidden"}, []any{status, body["code"]})
	usage := p.must(http.StatusOK, http.MethodGet, appPath+"/usage", integrator, nil)
	dayUsed := int(usage["day"].(map[string]any)["used"].(float64))
	require.Positive(t, dayUsed)
	quotas := p.must(http.StatusOK, http.MethodPut, appPath+"/quotas", admin, map[string]any{"per_minute": dayUsed + 2, "per_day": dayUsed + 2})
	assert.Equal(t, []any{float64(dayUsed + 2), float64(dayUsed + 2)}, []any{quotas["per_minute"], quotas["per_day"]})
	merchant := "/v1/payment/merchants/" + w.merchant
	other.must(http.StatusOK, http.MethodGet, merchant, w.app, nil)
	other.must(http.StatusOK, http.MethodGet, merchant, w.app, nil)
	status, body = other.call(http.MethodGet, merchant, w.app, nil)
	assert.Equal(t, []any{http.StatusTooManyRequests, platform.CodeAppQuotaExceeded}, []any{status, body["code"]})
	usage = p.must(http.StatusOK, http.MethodGet, appPath+"/usage", integrator, nil)
	assert.Equal(t, []any{float64(dayUsed + 2), float64(dayUsed + 2)},
		[]any{usage["day"].(map[string]any)["used"], usage["day"].(map[string]any)["limit"]})
	before = eventCount(t, r)
	p.must(http.StatusOK, http.MethodPut, appPath+"/quotas", admin, map[string]any{"per_minute": dayUsed + 2, "per_day": dayUsed + 2})
	assert.Equal(t, before, eventCount(t, r), "the same quotas again: nothing recorded")

	// The account's stream holds both changes.
	got := p.must(http.StatusOK, http.MethodGet, appPath, integrator, nil)
	assert.Equal(t, []any{domain.AppChannelECardQR, domain.AppChannelECardOnline}, got["channels"], "the set sent in another order changed nothing")
	assert.Equal(t, float64(dayUsed+2), got["per_day"])
	var types []string
	rows, err := r.b.d.pool.Query(r.ctx, `SELECT type FROM eventstore_events WHERE stream = $1 AND type LIKE 'PlatformApp%Changed' ORDER BY revision`,
		domain.PlatformAccountStreamFor(w.account))
	require.NoError(t, err)
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		types = append(types, s)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []string{domain.TypePlatformAppChannelsChanged, domain.TypePlatformAppChannelsChanged,
		domain.TypePlatformAppQuotasChanged}, types)

	// Refusals: nothing recorded.
	stranger := newPayWorld(p, r.keys["admin"])
	for _, c := range []struct {
		name, path string
		cred       payCred
		body       map[string]any
		status     int
		code       string
		field      string
	}{
		{"no channel", "/channels", integrator, map[string]any{"channels": []string{}}, 400, domain.CodeInvalidCommand, "channels"},
		{"unknown channel", "/channels", integrator, map[string]any{"channels": []string{"wechat"}}, 400, domain.CodeInvalidCommand, "channels"},
		{"another account's app", "/channels", bearerCred(stranger.integrator), map[string]any{"channels": []string{"card"}},
			403, platform.CodeAccountScope, ""},
		{"zero per minute", "/quotas", admin, map[string]any{"per_minute": 0, "per_day": 10}, 400, domain.CodeInvalidCommand, "per_minute"},
		{"day below minute", "/quotas", admin, map[string]any{"per_minute": 10, "per_day": 9}, 400, domain.CodeInvalidCommand, "per_day"},
	} {
		before := eventCount(t, r)
		status, body := p.call(http.MethodPut, appPath+c.path, c.cred, c.body)
		assert.Equal(t, []any{c.status, c.code}, []any{status, body["code"]}, "%s: %v", c.name, body)
		if c.field != "" {
			assert.Equal(t, c.field, body["errors"].([]any)[0].(map[string]any)["field"], c.name)
		}
		assert.Equal(t, before, eventCount(t, r), c.name)
	}
	status, body = p.call(http.MethodPut, "/v1/platform/apps/3f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9/quotas", admin,
		map[string]any{"per_minute": 1, "per_day": 1})
	assert.Equal(t, []any{http.StatusNotFound, domain.CodeAppNotFound}, []any{status, body["code"]})
}
