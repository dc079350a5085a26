package readapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/readapi"
)

// withCommands serves the command API next to the read API on h.srv.
func (h *harness) withCommands() {
	h.t.Helper()
	ctx := context.Background()
	if err := commands.Migrate(ctx, h.pool); err != nil {
		h.t.Fatal(err)
	}
	cmd, err := commands.NewAPI(h.store, h.pool, seed.HistoryKey, time.Now, h.log)
	if err != nil {
		h.t.Fatal(err)
	}
	auth := httpapi.StaticAuthenticator{
		keyAdmin:    {Client: "admin", Role: httpapi.RoleAdmin},
		keyCounter:  {Client: "counter", Role: httpapi.RoleCounter},
		keyConsumer: {Client: "pos", Role: httpapi.RoleBlacklistConsumer},
		keyBank:     {Client: "bank", Role: httpapi.RoleBank},
	}
	h.srv.Close()
	h.srv = httptest.NewServer(httpapi.NewServer(httpapi.Options{Auth: auth, Log: h.log, MapError: commands.ProblemFor},
		cmd.Routes(), h.api.Routes()))
	h.t.Cleanup(h.srv.Close)
}

// post sends a command; it returns the status and the decoded body.
func (h *harness) post(key, path string, body any) (int, map[string]any) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+path, bytes.NewReader(b))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Error(err)
		return 0, nil
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out
}

// TestFeedFollowsCommandsOverHTTP is the read side's "done" scenario:
// commands over HTTP from many concurrent clients, a projection restart in
// the middle, and feed consumers (from seq 0 and from a snapshot) that end
// with exactly the blacklist the event history says.
func TestFeedFollowsCommandsOverHTTP(t *testing.T) {
	h := newHarness(t)
	h.withCommands()
	h.run()

	const people = 24
	cards := make([]string, people)
	for i := range people {
		id := idNumberOf(i)
		status, reg := h.post(keyCounter, "/v1/cardholders", map[string]string{
			"id_number": id, "name": fmt.Sprintf("person %d", i), "sex": string(domain.SexOf(id)),
			"nationality": "CHN", "region_code": "110105", "employer_code": "E1", "community_code": "C1",
		})
		require.Equal(t, http.StatusCreated, status, "%v", reg)
		status, issued := h.post(keyBank, "/v1/cardholders/"+reg["cardholder_id"].(string)+"/instant-issuance",
			map[string]string{"bank_code": "ICBC", "account_no": fmt.Sprintf("62122602%011d", i), "chip_id": fmt.Sprintf("%032X", i)})
		require.Equal(t, http.StatusOK, status, "%v", issued)
		cards[i] = issued["card_no"].(string)
	}

	from0 := &consumer{h: h, listed: map[string]string{}}
	const writers, opsPerWriter = 6, 25
	type final struct {
		status   string
		position string
	}
	finals := make([]map[string]final, writers)
	var wg sync.WaitGroup
	var half sync.WaitGroup
	half.Add(writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			finals[w] = map[string]final{}
			status := map[string]string{}
			var mine []string
			for k := w; k < people; k += writers {
				mine = append(mine, cards[k])
				status[cards[k]] = "active"
			}
			for n := range opsPerWriter {
				if n == opsPerWriter/2 {
					half.Done()
				}
				card := mine[rng.IntN(len(mine))]
				var path string
				switch st := status[card]; {
				case st == "active":
					path = []string{"loss", "temporary-loss", "cancellation"}[rng.IntN(3)]
				case st == "cancelled":
					path = "restoration"
				case rng.IntN(4) == 0:
					path = "cancellation"
				default:
					path = "unlock"
				}
				code, res := h.post(keyCounter, "/v1/cards/"+card+"/"+path, map[string]string{"reason": "test"})
				if code != http.StatusOK {
					t.Errorf("%s %s from %s: %d %v", path, card, status[card], code, res)
					return
				}
				status[card] = res["card_status"].(string)
				finals[w][card] = final{status: status[card], position: res["position"].(string)}
			}
		}()
	}

	halfway := make(chan struct{})
	go func() { half.Wait(); close(halfway) }()
	var fromSnapshot *consumer
	for fromSnapshot == nil {
		from0.page("200ms")
		select {
		case <-halfway:
			// Another instance takes the projection over; this process's
			// API keeps serving from the database.
			h.stop()
			second := h.newRunner()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = second.Run(ctx) }()
			t.Cleanup(func() { cancel(); <-done })
			fromSnapshot = &consumer{h: h}
			fromSnapshot.fromSnapshot()
		default:
		}
	}
	wg.Wait()

	// Read-your-writes through the command's position, per card.
	for _, m := range finals {
		for card, f := range m {
			var c readapi.Card
			h.getJSON(keyCounter, "/v1/cards/"+card+"?min_position="+f.position, http.StatusOK, &c)
			require.Equal(t, f.status, c.Status, card)
		}
	}
	for from0.page("0s") > 0 {
	}
	for fromSnapshot.page("0s") > 0 {
	}
	want := h.expectedBlacklist()
	require.NotEmpty(t, want)
	require.Equal(t, want, from0.statuses())
	require.Equal(t, want, fromSnapshot.statuses())
	for card := range want {
		var e readapi.BlacklistEntry
		h.getJSON(keyConsumer, "/v1/blacklist/"+card, http.StatusOK, &e)
		require.True(t, e.Listed, card)
	}
}
