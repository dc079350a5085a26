package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/batch"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/config"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
	"github.com/cardledger/cardledger/platform/platformtest"
)

// sandboxRig is a production server (PostgreSQL only) whose sandbox is
// the default one: database "<name>_sandbox" on the same server, which
// the server creates on first use (testpg drops it with the test's).
type sandboxRig struct {
	t       *testing.T
	ctx     context.Context
	b       *booted
	sandbox string // the sandbox database's URL
	admin   string
}

func startSandboxRig(t *testing.T) *sandboxRig {
	return startSandboxRigWith(t, nil)
}

// startSandboxRigWith is startSandboxRig with more settings.
func startSandboxRigWith(t *testing.T, more map[string]string) *sandboxRig {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	dbURL := testpg.NewDatabase(t)
	sandboxURL, err := config.SandboxURLOf(dbURL)
	require.NoError(t, err)
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": dbURL, "CARDLEDGER_LOG_LEVEL": "error", "CARDLEDGER_RATE_LIMIT": "0"}
	maps.Copy(vars, more)
	env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return vars[k] }}
	require.Equal(t, 0, run(ctx, env, []string{"migrate"}))
	d, err := parseConfig(env, flag.NewFlagSet("test", flag.ContinueOnError), nil)
	require.NoError(t, err)
	require.Equal(t, sandboxURL, d.cfg.SandboxPostgresURL)
	a, err := buildApp(ctx, d)
	require.NoError(t, err)
	e, err := a.server(ctx)
	require.NoError(t, err)
	var wg sync.WaitGroup
	runCtx, stop := context.WithCancel(ctx)
	startProjections(runCtx, &wg, d, a.runner)
	r := &sandboxRig{t: t, ctx: ctx, sandbox: sandboxURL,
		b: &booted{d: d, a: a, e: e, srv: httptest.NewServer(e), stopProjections: func() { stop(); wg.Wait() }}}
	t.Cleanup(func() { r.b.srv.Close(); r.b.stopProjections(); a.close() })
	r.admin, err = auth.Add(ctx, d.pool, auth.Client{Name: "admin", Role: httpapi.RoleAdmin})
	require.NoError(t, err)
	return r
}

// cred is how a call authenticates: a bearer key, or a signing client
// (with its HMAC secret, or its Ed25519 key when priv is set).
type cred struct {
	key, client, secret string
	priv                ed25519.PrivateKey
}

func (r *sandboxRig) call(method, path string, c cred, body any) (int, map[string]any) {
	r.t.Helper()
	var raw []byte
	if body != nil {
		var err error
		raw, err = json.Marshal(body)
		require.NoError(r.t, err)
	}
	req, err := http.NewRequestWithContext(r.ctx, method, r.b.srv.URL+path, bytes.NewReader(raw))
	require.NoError(r.t, err)
	req.Header.Set("Content-Type", "application/json")
	switch {
	case c.client != "" && c.priv != nil:
		nonce := make([]byte, 16)
		_, _ = rand.Read(nonce)
		require.NoError(r.t, httpapi.SignRequestEd25519(req, c.client, c.priv, hex.EncodeToString(nonce), time.Now()))
	case c.client != "":
		nonce := make([]byte, 16)
		_, _ = rand.Read(nonce)
		require.NoError(r.t, httpapi.SignRequest(req, c.client, []byte(c.secret), hex.EncodeToString(nonce), time.Now()))
	case c.key != "":
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(r.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(r.t, err)
	out := map[string]any{}
	if len(b) > 0 {
		require.NoError(r.t, json.Unmarshal(b, &out), "%s %s: %s", method, path, b)
	}
	return res.StatusCode, out
}

// app registers and approves an account and creates an identity-reading
// app: its id, production credential and sandbox credential.
func (r *sandboxRig) app() (id string, prod, sandbox cred) {
	r.t.Helper()
	st, acc := r.call(http.MethodPost, "/v1/platform/accounts", cred{}, map[string]any{"name": "济宁某某信息技术有限公司",
		"credit_code": platformtest.NewCreditCode(r.t), "contact": map[string]any{"name": "王工", "phone": "13800000000"}})
	require.Equal(r.t, http.StatusCreated, st, "%v", acc)
	st, appr := r.call(http.MethodPost, "/v1/platform/accounts/"+acc["id"].(string)+"/approval", cred{key: r.admin}, nil)
	require.Equal(r.t, http.StatusOK, st, "%v", appr)
	st, app := r.call(http.MethodPost, "/v1/platform/apps", cred{key: appr["api_key"].(string)}, map[string]any{"name": "门诊身份核验",
		"type": domain.AppIdentityReading, "channels": []string{"card"}, "per_minute": 600, "per_day": 10000})
	require.Equal(r.t, http.StatusCreated, st, "%v", app)
	id = app["app"].(map[string]any)["id"].(string)
	sb := app["sandbox"].(map[string]any)
	require.Equal(r.t, "sandbox-app-"+id, sb["client"])
	return id, cred{client: app["client"].(string), secret: app["secret"].(string)},
		cred{client: sb["client"].(string), secret: sb["secret"].(string)}
}

// fingerprint is the content of a database's event log and read models
// (the batch read model's too): per table, its row count and an md5 of its rows.
func fingerprint(t *testing.T, ctx context.Context, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT table_schema || '.' || table_name FROM information_schema.tables
		WHERE (table_schema IN ('readmodel', 'batchrm') OR table_name IN ('eventstore_events', 'platform_apps', 'platform_counters', 'api_clients'))
		AND table_type = 'BASE TABLE' ORDER BY 1`)
	require.NoError(t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Contains(t, tables, "public.eventstore_events")
	require.Contains(t, tables, "readmodel.cardholders")
	require.Contains(t, tables, "batchrm.batches")
	out := map[string]string{}
	for _, tbl := range tables {
		var n int
		var sum *string
		require.NoError(t, pool.QueryRow(ctx, fmt.Sprintf(`SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM %s t`, tbl)).Scan(&n, &sum))
		s := ""
		if sum != nil {
			s = *sum
		}
		out[tbl] = fmt.Sprintf("%d rows %s", n, s)
	}
	return out
}

// TestSandboxCallsNeverTouchProduction: an app's sandbox credential
// registers a holder and reports a seeded demo card temporarily lost in the
// sandbox tenant (created, migrated and seeded on first use), reads it back
// there; production's event log, read models, clients and counters are
// byte-for-byte unchanged, and production — the app's production
// credential, an administrator — cannot see the sandbox's data. The
// sandbox keeps the same rules (app_scope), and its credential rotates
// and is revoked with the app's own.
func TestSandboxCallsNeverTouchProduction(t *testing.T) {
	r := startSandboxRig(t)
	ctx := r.ctx
	started := time.Now()
	appID, prod, sb := r.app() // the first app opens the sandbox: create, migrate, seed
	t.Logf("account, approval and first app, opening the sandbox: %s", time.Since(started).Round(time.Millisecond))

	before := r.productionAtRest()

	sandboxPool := testpg.NewPool(t, r.sandbox)
	var card string
	require.Eventually(t, func() bool {
		err := sandboxPool.QueryRow(ctx, `SELECT card_no FROM readmodel.cards WHERE status = 'active' AND is_current ORDER BY card_no LIMIT 1`).Scan(&card)
		return err == nil
	}, time.Minute, 50*time.Millisecond, "the sandbox's demo holders reach its read model")

	st, reg := r.call(http.MethodPost, "/v1/cardholders", sb, map[string]any{"id_number": "11010519491231002X", "name": "张三",
		"sex": "female", "nationality": "CHN", "region_code": "320506"})
	require.Equal(t, http.StatusCreated, st, "%v", reg)
	holder := reg["cardholder_id"].(string)
	st, lost := r.call(http.MethodPost, "/v1/cards/"+card+"/temporary-loss", sb, map[string]any{"reason": "试用"})
	require.Equal(t, http.StatusOK, st, "%v", lost)
	st, listed := r.call(http.MethodGet, "/v1/blacklist/"+card+"?min_position="+lost["position"].(string), sb, nil)
	require.Equal(t, http.StatusOK, st, "%v", listed)
	assert.Equal(t, true, listed["listed"], "the sandbox reads its own write")
	st, p := r.call(http.MethodGet, "/v1/cardholders/"+holder, sb, nil)
	assert.Equal(t, http.StatusForbidden, st, "the sandbox keeps the app's type rules: %v", p)
	assert.Equal(t, httpapi.CodeAppScope, p["code"])

	// Production sees none of it (its own reads below spend its counters).
	assert.Equal(t, before, fingerprint(t, ctx, r.b.d.pool), "production's log, read models, clients and counters are unchanged")
	st, listed = r.call(http.MethodGet, "/v1/blacklist/"+card, prod, nil)
	require.Equal(t, http.StatusOK, st, "%v", listed)
	assert.Equal(t, false, listed["listed"], "the production credential does not see the sandbox's loss")
	st, p = r.call(http.MethodGet, "/v1/cardholders/"+holder, cred{key: r.admin}, nil)
	assert.Equal(t, http.StatusNotFound, st, "the sandbox's holder is not production's: %v", p)
	var sandboxEvents int
	require.NoError(t, sandboxPool.QueryRow(ctx, `SELECT count(*) FROM eventstore_events WHERE stream = $1`, domain.StreamFor(holder)).Scan(&sandboxEvents))
	assert.Equal(t, 1, sandboxEvents, "the registration is in the sandbox's log")

	// A production credential is no sandbox credential and the reverse.
	st, p = r.call(http.MethodGet, "/v1/blacklist/"+card, cred{client: sb.client, secret: prod.secret}, nil)
	assert.Equal(t, http.StatusUnauthorized, st, "%v", p)

	// Rotation gives a new sandbox secret and ends the old one; revocation ends it.
	st, rot := r.call(http.MethodPost, "/v1/platform/apps/"+appID+"/secret", cred{key: r.admin}, nil)
	require.Equal(t, http.StatusOK, st, "%v", rot)
	fresh := cred{client: sb.client, secret: rot["sandbox"].(map[string]any)["secret"].(string)}
	require.NotEqual(t, sb.secret, fresh.secret)
	st, _ = r.call(http.MethodGet, "/v1/blacklist/"+card, sb, nil)
	assert.Equal(t, http.StatusUnauthorized, st, "the old sandbox secret")
	st, _ = r.call(http.MethodGet, "/v1/blacklist/"+card, fresh, nil)
	assert.Equal(t, http.StatusOK, st, "the rotated sandbox secret")

	// The app's own Ed25519 key: the sandbox client checks the same key,
	// and its HMAC secret ends with production's.
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	st, registered := r.call(http.MethodPut, "/v1/platform/apps/"+appID+"/public-key", cred{key: r.admin},
		map[string]any{"public_key": base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))})
	require.Equal(t, http.StatusOK, st, "%v", registered)
	assert.Equal(t, sb.client, registered["sandbox_client"])
	keyed := cred{client: sb.client, priv: priv}
	st, p = r.call(http.MethodGet, "/v1/blacklist/"+card, keyed, nil)
	assert.Equal(t, http.StatusOK, st, "the sandbox client signs with the app's key: %v", p)
	st, p = r.call(http.MethodGet, "/v1/blacklist/"+card, cred{client: prod.client, priv: priv}, nil)
	assert.Equal(t, http.StatusOK, st, "and so does the production client: %v", p)
	st, _ = r.call(http.MethodGet, "/v1/blacklist/"+card, fresh, nil)
	assert.Equal(t, http.StatusUnauthorized, st, "the sandbox's HMAC secret")

	st, _ = r.call(http.MethodPost, "/v1/platform/apps/"+appID+"/revocation", cred{key: r.admin}, nil)
	require.Equal(t, http.StatusOK, st)
	st, _ = r.call(http.MethodGet, "/v1/blacklist/"+card, fresh, nil)
	assert.Equal(t, http.StatusUnauthorized, st, "the revoked app's sandbox credential")
	st, _ = r.call(http.MethodGet, "/v1/blacklist/"+card, keyed, nil)
	assert.Equal(t, http.StatusUnauthorized, st, "the revoked app's sandbox key")
}

// productionAtRest waits until production's read models have applied its
// whole log and returns their fingerprint.
func (r *sandboxRig) productionAtRest() map[string]string {
	r.t.Helper()
	head := pgstoretest.CommittedHead(r.t, r.b.d.pool)
	st, body := r.call(http.MethodGet, "/v1/blacklist/A00000000?min_position="+head.String(), cred{key: r.admin}, nil)
	require.Equal(r.t, http.StatusOK, st, "%v", body)
	require.NoError(r.t, r.b.a.batches.ReadModel().CatchUp(r.ctx, r.b.d.store))
	return fingerprint(r.t, r.ctx, r.b.d.pool)
}

// sandboxDeskInterval is the desk's interval in TestSandboxProductionDesk.
const sandboxDeskInterval = "200ms"

// TestSandboxProductionDesk: an identity-reading app's sandbox credential
// registers a holder and applies for a card; within a few rounds of the
// sandbox's production desk (every 200 ms here) the application has gone
// through a batch — bank account opened by the bank simulator, card
// produced by the vendor simulator, bank data confirmed — and the card is
// produced in the sandbox's read model, while production's event log,
// read models (batch read model included), clients and counters stay
// byte-for-byte unchanged and no batch exists there.
func TestSandboxProductionDesk(t *testing.T) {
	r := startSandboxRigWith(t, map[string]string{"CARDLEDGER_SANDBOX_PRODUCTION_INTERVAL": sandboxDeskInterval})
	ctx := r.ctx
	_, _, sb := r.app() // opens the sandbox and starts its desk
	before := r.productionAtRest()

	st, reg := r.call(http.MethodPost, "/v1/cardholders", sb, map[string]any{"id_number": "11010519491231002X", "name": "张三",
		"sex": "female", "nationality": "CHN", "region_code": "320506"})
	require.Equal(t, http.StatusCreated, st, "%v", reg)
	holder := reg["cardholder_id"].(string)
	st, applied := r.call(http.MethodPost, "/v1/cardholders/"+holder+"/applications", sb, map[string]any{"source": "online", "bank_code": "102"})
	require.Equal(t, http.StatusCreated, st, "%v", applied)

	sandboxPool := testpg.NewPool(t, r.sandbox)
	type card struct{ no, status, account, chip, vendor string }
	var got card
	require.Eventually(t, func() bool {
		err := sandboxPool.QueryRow(ctx, `SELECT card_no, status, account_no, chip_id, vendor FROM readmodel.cards
			WHERE cardholder_id = $1 AND is_current`, holder).Scan(&got.no, &got.status, &got.account, &got.chip, &got.vendor)
		return err == nil && got.status == string(domain.StatusProduced)
	}, time.Minute, 100*time.Millisecond, "the sandbox's desk produces the app's application")
	assert.Regexp(t, `^621\d{16}$`, got.account, "the bank simulator's account")
	assert.Regexp(t, `^[0-9A-F]{32}$`, got.chip, "the vendor simulator's chip")
	// What the app itself sees of it: the application's progress, and
	// applying again is refused with the card's status.
	st, progress := r.call(http.MethodGet, "/v1/cardholders/"+holder+"/progress", sb, nil)
	require.Equal(t, http.StatusOK, st, "%v", progress)
	assert.Equal(t, string(domain.StatusProduced), progress["status"])
	assert.Equal(t, got.no, progress["card_no"])
	assert.Equal(t, applied["application_id"], progress["application_id"], "%v", applied)
	st, again := r.call(http.MethodPost, "/v1/cardholders/"+holder+"/applications", sb, map[string]any{"source": "online", "bank_code": "102"})
	assert.Equal(t, http.StatusConflict, st, "%v", again)
	assert.Equal(t, domain.CodeValidCardExists, again["code"])
	assert.Contains(t, again["detail"], "already has a produced card")

	// The batch that made it went through every file of the exchange.
	var batchID string
	require.NoError(t, sandboxPool.QueryRow(ctx, `SELECT batch_id FROM batchrm.applications WHERE cardholder_id = $1`, holder).Scan(&batchID))
	tenant, err := r.b.a.sandbox.open(ctx)
	require.NoError(t, err)
	stt, err := tenant.a.batches.Status(ctx, batchID)
	require.NoError(t, err)
	assert.Equal(t, domain.StepActivationApplied, stt.Step)
	assert.ElementsMatch(t, []domain.BatchFileKind{domain.FileBankOpen, domain.FileProduction, domain.FileBankData}, slices.Collect(maps.Keys(stt.Exports)))

	// Production: untouched, and no batch of its own.
	assert.Equal(t, before, fingerprint(t, ctx, r.b.d.pool), "production's log, read models, clients and counters are unchanged")
	var batches int
	require.NoError(t, r.b.d.pool.QueryRow(ctx, `SELECT count(*) FROM batchrm.batches`).Scan(&batches))
	assert.Zero(t, batches, "production has no batch")
	st, p := r.call(http.MethodGet, "/v1/cardholders/"+holder, cred{key: r.admin}, nil)
	assert.Equal(t, http.StatusNotFound, st, "the sandbox's holder is not production's: %v", p)
}

// TestSandboxProductionDeskGoesOnAndRunsOnce: a round that stopped half-way
// (here a batch selected, confirmed and its bank file exported by hand,
// the desk off) is finished by the next round from the step the batch
// reached; while another instance holds the desk's lock, a round does
// nothing.
func TestSandboxProductionDeskGoesOnAndRunsOnce(t *testing.T) {
	r := startSandboxRigWith(t, map[string]string{"CARDLEDGER_SANDBOX_PRODUCTION_INTERVAL": "off"})
	ctx := r.ctx
	_, _, sb := r.app()
	st, reg := r.call(http.MethodPost, "/v1/cardholders", sb, map[string]any{"id_number": "11010519491231002X", "name": "张三",
		"sex": "female", "nationality": "CHN", "region_code": "320506"})
	require.Equal(t, http.StatusCreated, st, "%v", reg)
	holder := reg["cardholder_id"].(string)
	st, applied := r.call(http.MethodPost, "/v1/cardholders/"+holder+"/applications", sb, map[string]any{"source": "online", "bank_code": "102"})
	require.Equal(t, http.StatusCreated, st, "%v", applied)

	tenant, err := r.b.a.sandbox.open(ctx)
	require.NoError(t, err)
	svc := tenant.a.batches
	// The batch read model sees the application once the $all horizon
	// passes it (a write transaction of the database still running holds
	// it back: eventstore/pgstore/visibility.go), so catch up until it does.
	var b *domain.Batch
	require.Eventually(t, func() bool {
		if err = svc.ReadModel().CatchUp(ctx, tenant.d.store); err == nil {
			b, err = svc.CreateBatch(ctx, "HALFWAY", domain.BatchFilter{})
		}
		return err == nil
	}, 30*time.Second, 50*time.Millisecond, "the application reaches the batch read model")
	require.NoError(t, err)
	_, err = svc.Review(ctx, b.ID, "clerk", "")
	require.NoError(t, err)
	_, err = svc.Confirm(ctx, b.ID, "clerk")
	require.NoError(t, err)
	_, err = svc.Export(ctx, b.ID, domain.FileBankOpen)
	require.NoError(t, err)

	// Another instance's desk holds the lock: this one does nothing.
	other := testpg.NewPool(t, r.sandbox)
	conn, err := other.Acquire(ctx)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(sandboxDeskLock))
	require.NoError(t, err)
	round, err := runSandboxDesk(ctx, svc, tenant)
	require.NoError(t, err)
	assert.Nil(t, round, "another instance's desk holds the lock")
	status, err := svc.Status(ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, domain.StepBankExported, status.Step)
	_, err = conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", int64(sandboxDeskLock))
	require.NoError(t, err)
	conn.Release()

	round, err = runSandboxDesk(ctx, svc, tenant)
	require.NoError(t, err)
	require.NotNil(t, round)
	status, err = svc.Status(ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, domain.StepActivationApplied, status.Step)
	members, err := svc.Members(ctx, b.ID, "")
	require.NoError(t, err)
	var mine []batch.MemberStatus
	for _, m := range members {
		if m.CardholderID == holder {
			mine = append(mine, m)
		}
	}
	require.Len(t, mine, 1)
	// The application's id is random, so the simulators refuse it in some
	// runs (2 % at each of three files): then it is pending again and the
	// same round selects it into a batch of its own.
	if mine[0].Stage.Dropped() {
		require.NotEmpty(t, round.Created, "the refused application is selected again")
		assert.Equal(t, []string{"HALFWAY", round.Created}, round.Finished, "the half-done batch, then the new one")
	} else {
		assert.Equal(t, []string{"HALFWAY"}, round.Finished, "the half-done batch, and no other")
		assert.Empty(t, round.Created, "nobody else was pending")
	}
	// The bank and the vendor answer this batch with a seed of its own (2%
	// refused or failed): the round's counts are the batch's outcomes.
	assert.Equal(t, status.Stages[domain.MemberAccountRefused]+status.Stages[domain.MemberAccountOpened]+
		status.Stages[domain.MemberProduced]+status.Stages[domain.MemberProductionFailed], status.Members)
	assert.Equal(t, status.Stages[domain.MemberProduced], round.Counts["production.produced"])
	assert.Equal(t, status.Stages[domain.MemberProductionFailed], round.Counts["production.production_failed"])
	assert.Equal(t, status.Stages[domain.MemberAccountRefused], round.Counts["bank_open.account_refused"])
	var cardStatus string
	if mine[0].Stage == domain.MemberProduced {
		require.Eventually(t, func() bool {
			err := tenant.d.pool.QueryRow(ctx, `SELECT status FROM readmodel.cards WHERE card_no = $1`, mine[0].CardNo).Scan(&cardStatus)
			return err == nil && cardStatus == string(domain.StatusProduced)
		}, 30*time.Second, 50*time.Millisecond, "the member produced is a produced card")
	}

	round, err = runSandboxDesk(ctx, svc, tenant)
	require.NoError(t, err)
	if mine[0].Stage == domain.MemberProduced {
		assert.Equal(t, &deskRound{Counts: map[string]int{}}, round, "a round with nothing to do does nothing")
	}
}
