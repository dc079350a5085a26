package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/ecard"
)

// A verification row stays while its code could still be presented
// (expiry plus the clock skew) and while the risk check may read it (the
// risk window); then PruneVerifications deletes it, and the pruned code is
// still refused, as expired. Rows written before codes' expiries were kept
// go a day after their verification.
func TestSpentVerificationsArePruned(t *testing.T) {
	h := newECardHarness(t, nil)
	h.bind("rsapp", domain.ConsentIdentity)
	ctx := context.Background()
	code := h.mustIssue("rsapp")
	st, _, p := h.verify("hospital-1", code)
	require.Equal(t, http.StatusOK, st, "%+v", p)
	legacy := func(age time.Duration) {
		_, err := h.b.d.pool.Exec(ctx, `INSERT INTO ecard.verifications
			(code_id, verification_id, cardholder_id, card_no, channel, terminal, region, verified_at)
			VALUES (decode(md5(random()::text), 'hex'), gen_random_uuid(), $1, $2, 'rsapp', 'hospital-1', '320506', $3)`,
			h.holder, h.card, h.clock.Now().Add(-age))
		require.NoError(t, err)
	}
	legacy(23 * time.Hour)
	legacy(25 * time.Hour)
	rows := func() int {
		var n int
		require.NoError(t, h.b.d.pool.QueryRow(ctx, `SELECT count(*) FROM ecard.verifications`).Scan(&n))
		return n
	}
	prune := func() int64 {
		n, err := h.b.a.codes.PruneVerifications(ctx, 1)
		require.NoError(t, err)
		return n
	}

	assert.Equal(t, int64(1), prune(), "only the legacy row older than a day")
	h.refused("pharmacy-2", code, http.StatusConflict, ecard.CodeUsed)
	h.clock.Add(ecard.DefaultTTL + ecard.MaxClockSkew + time.Second)
	assert.Equal(t, int64(0), prune(), "expired everywhere, but inside the risk window")
	h.clock.Add(ecard.DefaultRiskWindow)
	assert.Equal(t, int64(1), prune(), "expired everywhere and past the risk window")
	assert.Equal(t, 1, rows(), "the 23-hour legacy row stays")
	h.refused("pharmacy-2", code, http.StatusUnprocessableEntity, ecard.CodeExpired)
}
