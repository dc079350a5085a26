package commands_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
)

// bindAs binds person n's e-card to the channel of key under consent scopes.
func (e *env) bindAs(key string, n int, scopes ...domain.ConsentScope) commands.CommandResponse {
	e.t.Helper()
	r := e.do(http.MethodPost, "/v1/ecard/bindings", key, map[string]any{
		"id_number": idNumber(n), "name": testName(n), "scopes": scopes})
	require.Equal(e.t, http.StatusOK, r.Status, string(r.Body))
	return r.command(e.t)
}

func testName(n int) string { return registerBody(n)["name"].(string) }

// refused asserts a problem with status and code.
func refused(t *testing.T, r response, status int, code string) {
	t.Helper()
	require.Equal(t, status, r.Status, string(r.Body))
	assert.Equal(t, code, r.problem(t).Code)
}

// accessLog is the holder's e-card access records.
func (e *env) accessLog(holder string) []domain.ChannelAccessed {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs, err := e.store.ReadStream(ctx, domain.AccessStreamFor(holder), 0, 0)
	require.NoError(e.t, err)
	var out []domain.ChannelAccessed
	for _, rec := range recs {
		ev, err := domain.DecodeStoredECardEvent(rec.Type, rec.Data, rec.Metadata)
		require.NoError(e.t, err)
		var md domain.Metadata
		require.NoError(e.t, json.Unmarshal(rec.Metadata, &md))
		assert.Equal(e.t, "ecard:"+ev.(domain.ChannelAccessed).Channel, md.Channel, "the audit row names the channel")
		out = append(out, ev.(domain.ChannelAccessed))
	}
	return out
}

// The issue's path over HTTP: a channel binds a holder under consent, acts
// for them (temporary loss, unlock), loses the consent, meets another
// channel, is suspended and resumed.
func TestChannelSelfServiceOverHTTP(t *testing.T) {
	e := newEnv(t)
	holder, card := e.activeCard(1)
	self := "/v1/cardholders/" + holder + "/self-service"

	// Binding checks who the channel's real-name check found.
	wrong := e.do(http.MethodPost, "/v1/ecard/bindings", keyRsapp, map[string]any{"id_number": idNumber(1), "name": "李四"})
	refused(t, wrong, http.StatusConflict, domain.CodeIdentityMismatch)
	before := e.streamLen(holder)
	bound := e.bindAs(keyRsapp, 1, domain.ConsentCardStatus, domain.ConsentSelfService)
	assert.Equal(t, holder, bound.CardholderID)
	assert.Equal(t, []string{"ConsentGranted", "ECardIssued"}, bound.Events, "consent and issue in one decision")
	assert.Equal(t, before+2, e.streamLen(holder))
	refused(t, e.do(http.MethodPost, "/v1/ecard/bindings", keyRsapp2, map[string]any{"id_number": idNumber(1), "name": testName(1)}),
		http.StatusConflict, domain.CodeECardAlreadyBound)

	// Self-service under consent self_service, as the channel for the holder.
	r := e.do(http.MethodPost, self+"/temporary-loss", keyRsapp, map[string]string{"reason": "left it in a taxi"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, domain.StatusTemporarilyLost, r.command(t).CardStatus)
	h, _ := e.history("/v1/cards/" + card + "/history")
	last := h.Events[len(h.Events)-1]
	var md domain.Metadata
	require.NoError(t, json.Unmarshal(last.Metadata, &md))
	assert.Equal(t, "CardTemporarilyLost", last.Type)
	assert.Equal(t, "ecard:rsapp", md.Channel, "the channel acted")
	assert.Equal(t, "rsapp-1", md.Actor.Client)

	// A read under consent card_status is recorded, beside the holder's stream.
	rev := e.streamLen(holder)
	r = e.do(http.MethodGet, self+"/status", keyRsapp2, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var status commands.SelfStatusView
	r.json(t, &status)
	assert.Equal(t, commands.SelfStatusView{CardholderID: holder, CardNo: card, CardStatus: domain.StatusTemporarilyLost,
		Revision: uint64(rev - 1)}, status)
	assert.Equal(t, rev, e.streamLen(holder), "a read moves no revision")
	assert.Equal(t, []domain.ChannelAccessed{{CardholderID: holder, Channel: "rsapp", Scope: domain.ConsentCardStatus, Operation: "status"}},
		e.accessLog(holder))

	// Only a temporary loss is lifted by a channel.
	r = e.do(http.MethodPost, self+"/unlock", keyRsapp, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, domain.StatusActive, r.command(t).CardStatus)
	require.Equal(t, http.StatusOK, e.do(http.MethodPost, "/v1/cards/"+card+"/loss", keyCounter, nil).Status)
	refused(t, e.do(http.MethodPost, self+"/unlock", keyRsapp, nil), http.StatusConflict, domain.CodeFormalLossAtCounter)
	require.Equal(t, http.StatusOK, e.do(http.MethodPost, "/v1/cards/"+card+"/unlock", keyCounter, nil).Status)

	// Outside the consent's scopes.
	refused(t, e.do(http.MethodPost, self+"/phone", keyRsapp, map[string]string{"phone": "13900139000"}),
		http.StatusForbidden, commands.CodeConsentRequired)

	// Another channel: the holder is not bound to it.
	refused(t, e.do(http.MethodPost, self+"/temporary-loss", keyIcbcApp, nil), http.StatusForbidden, commands.CodeHolderNotBound)
	refused(t, e.do(http.MethodGet, self+"/status", keyIcbcApp, nil), http.StatusForbidden, commands.CodeHolderNotBound)
	refused(t, e.do(http.MethodPost, "/v1/cardholders/"+holder+"/consents/rsapp/revocation", keyIcbcApp, nil),
		http.StatusForbidden, commands.CodeHolderNotBound)

	// Consent revoked: the channel is refused at once.
	r = e.do(http.MethodPost, "/v1/cardholders/"+holder+"/consents/rsapp/revocation", keyRsapp, map[string]string{"reason": "the holder asked"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, []string{"ConsentRevoked"}, r.command(t).Events)
	n := e.eventCount()
	refused(t, e.do(http.MethodPost, self+"/temporary-loss", keyRsapp, nil), http.StatusForbidden, commands.CodeConsentRequired)
	refused(t, e.do(http.MethodGet, self+"/status", keyRsapp, nil), http.StatusForbidden, commands.CodeConsentRequired)
	assert.Equal(t, n, e.eventCount(), "refusals append nothing, not even an access record")

	// The holder grants it again through the channel.
	r = e.do(http.MethodPost, "/v1/cardholders/"+holder+"/consents", keyRsapp,
		map[string]any{"channel": "rsapp", "scopes": []string{"self_service", "card_status"}})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))

	// Suspension refuses every client of the channel at once; resumption restores.
	r = e.do(http.MethodPost, "/v1/ecard/channels/rsapp/suspension", keyAdmin, map[string]string{"reason": "leaked keys"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	refused(t, e.do(http.MethodPost, self+"/temporary-loss", keyRsapp, nil), http.StatusForbidden, commands.CodeChannelSuspended)
	refused(t, e.do(http.MethodGet, self+"/production", keyRsapp2, nil), http.StatusForbidden, commands.CodeChannelSuspended)
	refused(t, e.do(http.MethodPost, "/v1/ecard/bindings", keyRsapp2, map[string]any{"id_number": idNumber(1), "name": testName(1)}),
		http.StatusForbidden, commands.CodeChannelSuspended)
	r = e.do(http.MethodGet, "/v1/ecard/channels/rsapp", keyAdmin, nil)
	var ch commands.ChannelView
	r.json(t, &ch)
	assert.True(t, ch.Suspended)
	assert.Equal(t, "leaked keys", ch.Reason)
	refused(t, e.do(http.MethodPost, "/v1/ecard/channels/rsapp/suspension", keyAdmin, map[string]string{"reason": "again"}),
		http.StatusConflict, domain.CodeChannelAlreadySuspended)
	r = e.do(http.MethodPost, "/v1/ecard/channels/rsapp/resumption", keyAdmin, map[string]string{"reason": "keys rotated"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	r = e.do(http.MethodPost, self+"/temporary-loss", keyRsapp, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, domain.StatusTemporarilyLost, r.command(t).CardStatus)
	require.Equal(t, http.StatusOK, e.do(http.MethodPost, self+"/unlock", keyRsapp, nil).Status)
}

// One e-card, many channels; unbinding one leaves the others; each channel
// sees only its own consent; the counter sees and revokes all.
func TestChannelBindingsAndConsentsOverHTTP(t *testing.T) {
	e := newEnv(t)
	holder, _ := e.activeCard(2)
	e.bindAs(keyRsapp, 2, domain.ConsentCardStatus)
	assert.Equal(t, []string{"ConsentGranted", "ECardChannelBound"}, e.bindAs(keyIcbcApp, 2, domain.ConsentIdentity).Events)

	consents := func(key string) []commands.ConsentView {
		r := e.do(http.MethodGet, "/v1/cardholders/"+holder+"/consents", key, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var v commands.ConsentsView
		r.json(t, &v)
		return v.Consents
	}
	got := consents(keyRsapp)
	require.Len(t, got, 1)
	assert.Equal(t, "rsapp", got[0].Channel)
	assert.True(t, got[0].Bound)
	assert.Len(t, consents(keyCounter), 2, "the counter sees every consent")

	// A channel unbinds itself only; the counter names the channel.
	refused(t, e.do(http.MethodPost, "/v1/cardholders/"+holder+"/ecard/unbinding", keyRsapp, map[string]string{"channel": "icbc-app"}),
		http.StatusForbidden, commands.CodeOtherChannel)
	refused(t, e.do(http.MethodPost, "/v1/cardholders/"+holder+"/consents/icbc-app/revocation", keyRsapp, nil),
		http.StatusForbidden, commands.CodeOtherChannel)
	refused(t, e.do(http.MethodPost, "/v1/cardholders/"+holder+"/consents", keyRsapp,
		map[string]any{"channel": "icbc-app", "scopes": []string{"contact"}}), http.StatusForbidden, commands.CodeOtherChannel)
	r := e.do(http.MethodPost, "/v1/cardholders/"+holder+"/ecard/unbinding", keyCounter, map[string]string{"channel": "rsapp", "reason": "holder asked"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, []string{"ECardChannelUnbound", "ConsentRevoked"}, r.command(t).Events)
	refused(t, e.do(http.MethodGet, "/v1/cardholders/"+holder+"/self-service/status", keyRsapp, nil),
		http.StatusForbidden, commands.CodeHolderNotBound)
	refused(t, e.do(http.MethodGet, "/v1/cardholders/"+holder+"/self-service/status", keyIcbcApp, nil),
		http.StatusForbidden, commands.CodeConsentRequired)
	got = consents(keyCounter)
	require.Len(t, got, 1)
	assert.Equal(t, "icbc-app", got[0].Channel)

	// The counter revokes any consent.
	r = e.do(http.MethodPost, "/v1/cardholders/"+holder+"/consents/icbc-app/revocation", keyCounter, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Empty(t, consents(keyCounter))
	refused(t, e.do(http.MethodPost, "/v1/cardholders/"+holder+"/consents/icbc-app/revocation", keyCounter, nil),
		http.StatusConflict, domain.CodeNoConsent)
}

// Self-service commands beyond loss: phone (consent contact), activation,
// cancellation request confirmed at the counter, production progress,
// instant application routed to the holder's bank.
func TestChannelSelfServiceCommandsOverHTTP(t *testing.T) {
	e := newEnv(t)
	holder, card := e.activeCard(3)
	self := "/v1/cardholders/" + holder + "/self-service"
	e.bindAs(keyRsapp, 3, domain.ConsentContact, domain.ConsentSelfService, domain.ConsentCardStatus)

	r := e.do(http.MethodPost, self+"/phone", keyRsapp, map[string]string{"phone": "13912345678"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, []string{"PhoneChanged"}, r.command(t).Events)
	refused(t, e.do(http.MethodPost, self+"/phone", keyRsapp, map[string]string{"phone": "123"}), http.StatusBadRequest, domain.CodeInvalidCommand)
	refused(t, e.do(http.MethodPost, self+"/activation", keyRsapp, nil), http.StatusConflict, domain.CodeInvalidTransition)

	r = e.do(http.MethodPost, self+"/cancellation-request", keyRsapp, map[string]string{"reason": "moving abroad"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, []string{"CardCancellationRequested"}, r.command(t).Events)
	refused(t, e.do(http.MethodPost, self+"/cancellation-request", keyRsapp, nil), http.StatusConflict, domain.CodeCancellationRequested)
	r = e.do(http.MethodGet, self+"/status", keyRsapp, nil)
	var status commands.SelfStatusView
	r.json(t, &status)
	assert.True(t, status.CancellationRequested)
	r = e.do(http.MethodGet, "/v1/cardholders/"+holder+"/state", keyCounter, nil)
	var state commands.StateView
	r.json(t, &state)
	assert.Equal(t, "rsapp", state.Card.CancellationRequestedBy, "the counter sees the request")
	assert.Equal(t, []string{"rsapp"}, state.ECardChannels)

	// The counter confirms: the card and its e-card end.
	r = e.do(http.MethodPost, "/v1/cards/"+card+"/cancellation", keyCounter, map[string]string{"reason": "confirmed"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, []string{"CardCancelled", "ECardRevoked"}, r.command(t).Events)
	refused(t, e.do(http.MethodGet, self+"/status", keyRsapp, nil), http.StatusForbidden, commands.CodeHolderNotBound)

	// Bound again? The e-card ended with the card: a new one needs an active card.
	refused(t, e.do(http.MethodPost, "/v1/ecard/bindings", keyRsapp, map[string]any{"id_number": idNumber(3), "name": testName(3)}),
		http.StatusConflict, domain.CodeCardNotActive)
}

// The instant application replaces a lost card at the bank of the holder's
// card, e-card and binding carried over; the bank's counter makes it.
func TestChannelInstantApplicationOverHTTP(t *testing.T) {
	e := newEnv(t)
	holder, card := e.activeCard(4)
	self := "/v1/cardholders/" + holder + "/self-service"
	e.bindAs(keyRsapp, 4, domain.ConsentSelfService, domain.ConsentCardStatus)
	refused(t, e.do(http.MethodPost, self+"/instant-application", keyRsapp, nil), http.StatusConflict, domain.CodeValidCardExists)

	require.Equal(t, http.StatusOK, e.do(http.MethodPost, self+"/temporary-loss", keyRsapp, nil).Status)
	r := e.do(http.MethodPost, self+"/instant-application", keyRsapp, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	applied := r.command(t)
	assert.Equal(t, []string{"CardCancelled", "CardApplied", "ECardCarriedOver"}, applied.Events)
	r = e.do(http.MethodGet, self+"/production", keyRsapp, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var p commands.ProductionView
	r.json(t, &p)
	assert.Equal(t, commands.ProductionView{CardholderID: holder, ApplicationID: applied.ApplicationID, Kind: domain.Replacement,
		Status: domain.StatusApplied, BankCode: "102", Revision: applied.Revision}, p)

	// The bank's counter makes the card; the e-card works on it at once.
	r = e.do(http.MethodPost, "/v1/cardholders/"+holder+"/instant-issuance", keyBank, instantIssueBody())
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	newCard := r.command(t).CardNo
	assert.NotEqual(t, card, newCard)
	r = e.do(http.MethodGet, self+"/status", keyRsapp, nil)
	var status commands.SelfStatusView
	r.json(t, &status)
	assert.Equal(t, newCard, status.CardNo)
	assert.True(t, status.ECardUsable, "carried over and the new card is active")
	assert.Len(t, e.accessLog(holder), 2)
}

// A replacement made at the counter carries the e-card; the holder
// activates the new card through the channel.
func TestChannelActivatesAReplacementOverHTTP(t *testing.T) {
	e := newEnv(t)
	holder, card := e.activeCard(5)
	self := "/v1/cardholders/" + holder + "/self-service"
	e.bindAs(keyRsapp, 5, domain.ConsentSelfService)
	r := e.do(http.MethodPost, "/v1/cards/"+card+"/replacement", keyBank, map[string]string{"reason": "damaged"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, []string{"CardCancelled", "CardApplied", "ECardCarriedOver"}, r.command(t).Events)
	refused(t, e.do(http.MethodPost, self+"/activation", keyRsapp, nil), http.StatusConflict, domain.CodeInvalidTransition)

	require.Equal(t, http.StatusOK, e.do(http.MethodPost, "/v1/cardholders/"+holder+"/bank-account", keyBank,
		map[string]string{"account_no": testAccountNo}).Status)
	r = e.do(http.MethodPost, "/v1/cardholders/"+holder+"/card-number", keyCounter, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	newCard := r.command(t).CardNo
	for _, step := range []struct {
		path string
		body any
	}{{"/production", map[string]string{"chip_id": testChipID}}, {"/issue", nil}} {
		r = e.do(http.MethodPost, "/v1/cards/"+newCard+step.path, keyCounter, step.body)
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", step.path, r.Body)
	}
	r = e.do(http.MethodPost, self+"/activation", keyRsapp, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	got := r.command(t)
	assert.Equal(t, newCard, got.CardNo)
	assert.Equal(t, domain.StatusActive, got.CardStatus)
}
