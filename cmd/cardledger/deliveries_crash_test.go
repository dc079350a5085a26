package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/deliveries"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
)

// startSender is `cardledger serve` with its projections and deliveries,
// in a child process (TestCrashServerChild) that the test can SIGKILL.
func startSender(t *testing.T, ctx context.Context, dbURL, app string) *crashServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	s := &crashServer{app: app, url: "http://" + addr, out: &lockedBuffer{}, done: make(chan struct{})}
	sep := "?"
	if strings.Contains(dbURL, "?") {
		sep = "&"
	}
	s.cmd = exec.Command(os.Args[0], "-test.run=^TestCrashServerChild$")
	s.cmd.Env = append(os.Environ(), envCrashServer+"=1",
		"CARDLEDGER_POSTGRES_URL="+dbURL+sep+"application_name="+s.app, "CARDLEDGER_LISTEN="+addr,
		"CARDLEDGER_PROJECTIONS=true", "CARDLEDGER_DELIVERY_ALLOW_PRIVATE=true", "CARDLEDGER_LOG_LEVEL=warn",
		"CARDLEDGER_RATE_LIMIT=0")
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	require.NoError(t, s.cmd.Start())
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.done
		if t.Failed() {
			t.Logf("%s output:\n%s", s.app, tail(s.out.String(), 4000))
		}
	})
	poll(t, ctx, s.app+" answers /healthz", func() bool {
		res, err := http.Get(s.url + "/healthz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	return s
}

func postJSON(t *testing.T, url, key string, body any, want int) []byte {
	t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	require.Equal(t, want, res.StatusCode, "%s %s", url, out)
	return out
}

// The sending process is SIGKILLed while it delivers to a slow receiver
// that fails some first calls. After a restart, every subscribed event has
// been delivered at least once, in order per card; a repeat carries the
// same event id and the same body.
func TestDeliveriesSurviveAKilledSender(t *testing.T) {
	if os.Getenv(envCrashServer) != "" {
		t.Skip("child process")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dbURL := testpg.NewDatabase(t)
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": dbURL, "CARDLEDGER_LOG_LEVEL": "warn"}
	getenv := func(k string) string { return vars[k] }
	require.Equal(t, 0, run(ctx, &environment{stdout: io.Discard, stderr: io.Discard, getenv: getenv}, []string{"migrate"}))
	pool := testpg.NewPool(t, dbURL)
	key, err := auth.Add(ctx, pool, auth.Client{Name: "crash-admin", Role: httpapi.RoleAdmin})
	require.NoError(t, err)

	// Slow, and failing the first call of one event in four.
	recv := newReceiver(t, func(b deliveries.Body, try int) int {
		time.Sleep(15 * time.Millisecond)
		if try == 1 && strings.ContainsAny(b.EventID[len(b.EventID)-1:], "0123") {
			return http.StatusInternalServerError
		}
		return 0
	})
	sender := startSender(t, ctx, dbURL, "delivery-sender-1")
	var sub deliveries.Created
	require.NoError(t, json.Unmarshal(postJSON(t, sender.url+"/v1/subscriptions", key,
		map[string]any{"url": recv.srv.URL, "event_types": deliveries.Deliverable}, http.StatusCreated), &sub))
	const holders = 6
	for i := range holders {
		first17 := fmt.Sprintf("3205061980010100%d", i)
		idNo := first17 + string(domain.IDCheckChar(first17))
		var reg struct {
			CardholderID string `json:"cardholder_id"`
			CardNo       string `json:"card_no"`
		}
		require.NoError(t, json.Unmarshal(postJSON(t, sender.url+"/v1/cardholders", key, map[string]string{
			"id_number": idNo, "name": "张三", "sex": string(domain.SexOf(idNo)), "nationality": "CHN", "region_code": "320506",
			"phone": "13800000000", "employer_code": "E001", "community_code": "C001"}, http.StatusCreated), &reg))
		require.NoError(t, json.Unmarshal(postJSON(t, sender.url+"/v1/cardholders/"+reg.CardholderID+"/instant-issuance", key,
			map[string]string{"bank_code": "102", "account_no": "6212260200012345678", "chip_id": "0123456789ABCDEF0123456789ABCDEF"},
			http.StatusOK), &reg))
		postJSON(t, sender.url+"/v1/cards/"+reg.CardNo+"/loss", key, map[string]string{"reason": "lost"}, http.StatusOK)
	}
	// Mid-delivery: some events accepted, more to go.
	poll(t, ctx, "the receiver accepted some events", func() bool { return len(recv.got()) >= 8 })
	require.NoError(t, sender.cmd.Process.Signal(syscall.SIGKILL))
	<-sender.done
	acceptedBefore := len(recv.ids())

	// Every cardholder event came after the subscription (made first).
	var want []string
	perStream := map[string][]string{}
	rows, err := pool.Query(ctx, `SELECT id::text, stream, type FROM eventstore_events ORDER BY stream, revision`)
	require.NoError(t, err)
	for rows.Next() {
		var id, stream, typ string
		require.NoError(t, rows.Scan(&id, &stream, &typ))
		if strings.HasPrefix(stream, domain.StreamPrefix) && slices.Contains(deliveries.Deliverable, typ) {
			want = append(want, id)
			perStream[stream] = append(perStream[stream], id)
		}
	}
	require.NoError(t, rows.Err())
	require.Less(t, acceptedBefore, len(want), "killed mid-delivery")

	startSender(t, ctx, dbURL, "delivery-sender-2")
	poll(t, ctx, "every subscribed event delivered", func() bool { return len(recv.ids()) >= len(want) })
	got := recv.got()
	assert.ElementsMatch(t, want, recv.ids(), "every subscribed event, at least once")
	bodies := map[string][]byte{}
	last := map[string]uint64{}
	dups := 0
	for _, c := range got {
		if prev, ok := bodies[c.body.EventID]; ok {
			dups++
			assert.JSONEq(t, string(prev), string(c.raw), "a repeat is the same delivery under the same event id")
			continue
		}
		bodies[c.body.EventID] = c.raw
		if r, ok := last[c.body.Stream]; ok {
			assert.Greater(t, c.body.Revision, r, "in order per card (%s)", c.body.Stream)
		}
		last[c.body.Stream] = c.body.Revision
	}
	for stream, ids := range perStream {
		var order []string
		for _, id := range recv.ids() {
			if slices.Contains(ids, id) {
				order = append(order, id)
			}
		}
		assert.Equal(t, ids, order, "first deliveries of %s in stream order", stream)
	}
	t.Logf("%d events, %d calls accepted, %d repeats, %d accepted before the kill", len(want), len(got), dups, acceptedBefore)
}
