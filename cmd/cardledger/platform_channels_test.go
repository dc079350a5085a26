package main

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
)

// TestElectronicChannelOpening (电子渠道开通): an administrator registers a
// bank's channel app over HTTP and gets its channel client's key; the
// channel is closed until opened (its e-card routes answer 403
// channel_closed and append nothing), works once opened, and closing it
// refuses its requests and the codes it made at once, until it is opened
// again. Each step is an event of the channel's stream.
func TestElectronicChannelOpening(t *testing.T) {
	r := startECardRig(t)
	const code = "icbc-app"
	status, reg := r.sendJSON(http.MethodPost, "/v1/platform/channels", "admin",
		map[string]string{"code": code, "name": "工银e生活", "kind": "icbc"})
	require.Equal(t, http.StatusCreated, status, "%v", reg)
	require.Equal(t, "channel-"+code, reg["client"])
	require.Equal(t, false, reg["channel"].(map[string]any)["open"])
	r.keys[code] = reg["api_key"].(string)

	status, again := r.sendJSON(http.MethodPost, "/v1/platform/channels", "admin",
		map[string]string{"code": code, "name": "工银e生活", "kind": "icbc"})
	require.Equal(t, http.StatusConflict, status, "%v", again)
	assert.Equal(t, domain.CodeChannelRegistered, again["code"])
	status, bad := r.sendJSON(http.MethodPost, "/v1/platform/channels", "admin",
		map[string]string{"code": "alipay", "name": "支付宝", "kind": "alipay"})
	require.Equal(t, http.StatusBadRequest, status, "%v", bad)

	holder, _ := r.registerActiveCard("11010519491231002X", "张三")
	bind := func() (int, map[string]any) {
		return r.sendJSON(http.MethodPost, "/v1/ecard/bindings", code, map[string]any{
			"id_number": "11010519491231002X", "name": "张三", "scopes": []string{"identity", "card_status"}})
	}
	status, refused := bind()
	require.Equal(t, http.StatusForbidden, status, "%v", refused)
	require.Equal(t, commands.CodeChannelClosed, refused["code"])

	status, opened := r.sendJSON(http.MethodPost, "/v1/platform/channels/"+code+"/opening", "admin", map[string]string{"reason": "协议已签"})
	require.Equal(t, http.StatusOK, status, "%v", opened)
	require.Equal(t, true, opened["open"])
	status, bound := bind()
	require.Equal(t, http.StatusOK, status, "%v", bound)
	status, issued := r.sendJSON(http.MethodPost, "/v1/ecard/codes", code, map[string]string{"cardholder_id": holder, "format": "svg"})
	require.Equal(t, http.StatusCreated, status, "%v", issued)
	outstanding := issued["code"].(string)

	status, closed := r.sendJSON(http.MethodPost, "/v1/platform/channels/"+code+"/closing", "admin", map[string]string{"reason": "协议到期"})
	require.Equal(t, http.StatusOK, status, "%v", closed)
	require.Equal(t, false, closed["open"])
	status, p := r.sendJSON(http.MethodPost, "/v1/ecard/codes", code, map[string]string{"cardholder_id": holder, "format": "svg"})
	require.Equal(t, http.StatusForbidden, status, "%v", p)
	require.Equal(t, commands.CodeChannelClosed, p["code"])
	status, p = r.sendJSON(http.MethodPost, "/v1/ecard/verify", "pharmacy", map[string]string{"code": outstanding})
	require.Equal(t, http.StatusForbidden, status, "a code the closed channel made: %v", p)
	require.Equal(t, commands.CodeChannelClosed, p["code"])
	status, p = r.sendJSON(http.MethodGet, "/v1/cardholders/"+holder+"/self-service/status", code, nil)
	require.Equal(t, http.StatusForbidden, status, "%v", p)
	require.Equal(t, commands.CodeChannelClosed, p["code"])
	status, p = r.sendJSON(http.MethodPost, "/v1/platform/channels/"+code+"/closing", "admin", map[string]string{"reason": "again"})
	require.Equal(t, http.StatusConflict, status, "%v", p)
	require.Equal(t, domain.CodeChannelAlreadyClosed, p["code"])

	status, p = r.sendJSON(http.MethodPost, "/v1/platform/channels/"+code+"/opening", "admin", nil)
	require.Equal(t, http.StatusOK, status, "%v", p)
	status, p = r.sendJSON(http.MethodPost, "/v1/ecard/verify", "pharmacy", map[string]string{"code": outstanding})
	require.Equal(t, http.StatusOK, status, "reopened: %v", p)

	status, list := r.sendJSON(http.MethodGet, "/v1/platform/channels", "admin", nil)
	require.Equal(t, http.StatusOK, status, "%v", list)
	channels := list["channels"].([]any)
	require.Len(t, channels, 1)
	assert.Equal(t, map[string]any{"code": code, "name": "工银e生活", "kind": "icbc", "open": true, "suspended": false,
		"client": "channel-" + code, "revision": float64(3)}, channels[0])
	status, p = r.sendJSON(http.MethodPost, "/v1/platform/channels/nosuch/opening", "admin", nil)
	require.Equal(t, http.StatusNotFound, status, "%v", p)
	require.Equal(t, domain.CodeChannelNotRegistered, p["code"])
	status, p = r.sendJSON(http.MethodPost, "/v1/platform/channels/"+code+"/closing", code, map[string]string{"reason": "x"})
	require.Equal(t, http.StatusForbidden, status, "a channel does not close itself: %v", p)

	assert.Equal(t, []string{"ChannelAppRegistered", "ChannelOpened", "ChannelClosed", "ChannelOpened"},
		r.channelEvents(code), "every step is an event of the channel's stream; refusals append nothing")
	// The legacy channel of the rig (a client with no registration) still works.
	status, p = r.sendJSON(http.MethodGet, "/v1/ecard/channels/"+rigChannel, "admin", nil)
	require.Equal(t, http.StatusOK, status, "%v", p)
}

// channelEvents are the types of channel code's stream.
func (r *ecardRig) channelEvents(code string) []string {
	r.t.Helper()
	recs, err := r.b.d.store.ReadStream(r.ctx, domain.ChannelStreamFor(code), 0, 0)
	require.NoError(r.t, err)
	out := []string{}
	for _, rec := range recs {
		out = append(out, rec.Type)
	}
	return out
}
