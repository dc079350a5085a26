package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/deliveries"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/auth"
)

// The signing secrets of a subscription and of a merchant's notifications
// are sealed at rest: after creating both and rotating the merchant's, no
// row of any table holds a secret shown (nor the merchant's app's); deliveries are
// signed with the secrets shown. A row left in clear by an older version
// (the column still text) is sealed at the next start and signs with its
// secret as before; after a master-key rotation the next start reseals
// every row under the new key, and deliveries signed with rows opened by
// the new key alone still verify.
func TestDeliverySecretsAreSealedAtRest(t *testing.T) {
	oldMaster, newMaster := randomHex(t, 32), randomHex(t, 32)
	r := startECardRigWith(t, map[string]string{"CARDLEDGER_DELIVERY_ALLOW_PRIVATE": "true", "CARDLEDGER_MASTER_KEY": oldMaster})
	ctx, dbURL := r.ctx, r.vars["CARDLEDGER_POSTGRES_URL"]
	p := payAPI{t: t, ctx: ctx, url: r.url}
	w := newPayWorld(p, r.keys["admin"])
	recv := newReceiver(t, nil)
	st, raw := r.send(http.MethodPost, "/v1/subscriptions", "admin",
		map[string]any{"url": recv.srv.URL + "/bank", "event_types": deliveries.Deliverable})
	require.Equal(t, http.StatusCreated, st, "%s", raw)
	var sub deliveries.Created
	require.NoError(t, json.Unmarshal(raw, &sub))
	subID := uuid.MustParse(sub.ID)
	registered := w.notifySecret
	rotated := p.must(http.StatusOK, http.MethodPost, "/v1/payment/merchants/"+w.merchant+"/notifications/secret", w.app, nil)
	w.notifySecret = rotated["notify_secret"].(string)
	require.NotEqual(t, registered, w.notifySecret)

	// The app's HMAC secret too: the answers that showed them are not kept.
	shown := []string{sub.Secret, registered, w.notifySecret, w.app.secret}
	require.Empty(t, postgresTexts(t, ctx, dbURL, shown), "a secret shown is in a row in clear")

	// phase makes a card event and a merchant notification and checks that
	// both arrive signed with the secrets the parties hold.
	seq := 0
	phase := func(name, subSecret, notifySecret string) {
		t.Helper()
		seq++
		before := len(recv.got())
		holder := payHolder(p, r.keys["admin"], r.keys["app"], seq)
		o := p.must(http.StatusCreated, http.MethodPost, "/v1/payment/orders", w.app,
			w.order(fmt.Sprintf("S-%d", seq), 100, recv.srv.URL+"/merchant"))
		p.must(http.StatusOK, http.MethodPost, "/v1/payment/orders/"+o["id"].(string)+"/payment", w.app,
			map[string]any{"payment_code": paymentCode(p, r.keys["app"], holder)})
		kinds := func() (card, order int) {
			for _, c := range recv.got()[before:] {
				if strings.HasPrefix(c.body.Stream, domain.PaymentOrderStreamPrefix) {
					order++
				} else {
					card++
				}
			}
			return card, order
		}
		// Bounded: a secret that does not open holds the deliveries back.
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		poll(t, pctx, name+": a card event and a notification delivered", func() bool { card, order := kinds(); return card > 0 && order > 0 })
		for _, c := range recv.got()[before:] {
			secret := subSecret
			if strings.HasPrefix(c.body.Stream, domain.PaymentOrderStreamPrefix) {
				secret = notifySecret
			}
			assert.True(t, deliveries.Verify(secret, c.timestamp, c.eventID, c.raw, c.signature), "%s: signature of %s %s", name, c.body.Type, c.eventID)
		}
	}
	opts := deliveries.Options{MaxAttempts: 3, Backoff: 10 * time.Millisecond, Timeout: 2 * time.Second}
	stop := runDeliveries(t, r.b.d.store, r.b.d.pool, r.b.a.deliveryKeys, opts)
	phase("sealed at creation", sub.Secret, w.notifySecret)
	stop()

	// An older version's table: the column text, both secrets in clear.
	legacySub, legacyNotify := randomHex(t, 32), randomHex(t, 32)
	_, err := r.b.d.pool.Exec(ctx, fmt.Sprintf(`ALTER TABLE deliveries.subscriptions ALTER COLUMN secret TYPE text
		USING CASE id WHEN '%s' THEN '%s' WHEN '%s' THEN '%s' END`,
		subID, legacySub, deliveries.MerchantSubscriptionID(w.merchant), legacyNotify))
	require.NoError(t, err)
	restarted := restartDeliveries(t, r, nil)
	require.Empty(t, postgresTexts(t, ctx, dbURL, []string{legacySub, legacyNotify}), "the start left a secret in clear")
	stop = runDeliveries(t, r.b.d.store, r.b.d.pool, restarted, opts)
	phase("clear rows sealed at start", legacySub, legacyNotify)
	stop()

	// The master key rotated: the next start reseals under the new key, and
	// the new key alone opens every row.
	restartDeliveries(t, r, map[string]string{"CARDLEDGER_MASTER_KEY": newMaster, "CARDLEDGER_MASTER_KEY_OLD": oldMaster})
	newOnly := restartKeys(t, r, map[string]string{"CARDLEDGER_MASTER_KEY": newMaster})
	rows, err := r.b.d.pool.Query(ctx, `SELECT id, secret FROM deliveries.subscriptions`)
	require.NoError(t, err)
	n := 0
	for rows.Next() {
		var id uuid.UUID
		var stored []byte
		require.NoError(t, rows.Scan(&id, &stored))
		assert.True(t, newOnly.IsCurrent(stored), "subscription %s not resealed under the new master key", id)
		n++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, 2, n)
	assert.Empty(t, postgresTexts(t, ctx, dbURL, []string{legacySub, legacyNotify}))
	runDeliveries(t, r.b.d.store, r.b.d.pool, newOnly, opts)
	phase("resealed under the new master key", legacySub, legacyNotify)
}

// restartDeliveries builds the app again on the rig's database with its
// settings and more, as a restarted instance does, and returns its delivery
// keys.
func restartDeliveries(t *testing.T, r *ecardRig, more map[string]string) *auth.SecretKeys {
	t.Helper()
	d := rigDeps(t, r, more)
	a, err := buildApp(r.ctx, d)
	require.NoError(t, err)
	t.Cleanup(a.close)
	return a.deliveryKeys
}

// restartKeys are the delivery keys of the rig's settings and more, without
// a start.
func restartKeys(t *testing.T, r *ecardRig, more map[string]string) *auth.SecretKeys {
	t.Helper()
	d := rigDeps(t, r, more)
	defer d.close()
	keys, err := d.deliverySecretKeys()
	require.NoError(t, err)
	return keys
}

// rigDeps are the deps of the rig's settings and more; the caller closes them.
func rigDeps(t *testing.T, r *ecardRig, more map[string]string) *deps {
	t.Helper()
	vars := map[string]string{}
	for k, v := range r.vars {
		vars[k] = v
	}
	for k, v := range more {
		vars[k] = v
	}
	env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return vars[k] }}
	d, err := parseConfig(env, flag.NewFlagSet("test", flag.ContinueOnError), nil)
	require.NoError(t, err)
	return d
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}
