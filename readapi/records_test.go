package readapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/readapi"
)

// idNumberOf is the ID number seed.Lifecycle gives person i.
func idNumberOf(i int) string {
	_, events := seed.Lifecycle(seed.HistoryKey, i, false)
	return events[0].(domain.CardholderRegistered).IDNumber
}

func TestCardholderCardAndProgress(t *testing.T) {
	h := newHarness(t)
	h.seed(40, seed.HistoryOptions{})
	h.run()
	h.caughtUp()

	// Person 1: issued, activated, then reported lost.
	var ch readapi.Cardholder
	h.getJSON(keyCounter, "/v1/cardholders?id_number="+idNumberOf(1), http.StatusOK, &ch)
	require.Equal(t, domain.CardholderIDFor(seed.HistoryKey, idNumberOf(1)), ch.CardholderID)
	require.Equal(t, "person 1", ch.Name)
	require.NotNil(t, ch.CurrentCard)
	require.Equal(t, "B00000001", ch.CurrentCard.CardNo)
	require.Equal(t, "lost", ch.CurrentCard.Status)
	require.True(t, ch.CurrentCard.Blacklisted)
	require.Len(t, ch.Cards, 1)

	var byID readapi.Cardholder
	h.getJSON(keyCounter, "/v1/cardholders/"+ch.CardholderID, http.StatusOK, &byID)
	require.Equal(t, ch, byID)

	var card readapi.Card
	h.getJSON(keyBank, "/v1/cards/B00000001", http.StatusOK, &card)
	require.Equal(t, "bank1", card.BankCode)
	require.Equal(t, "2024-02-02", *card.IssuedOn)
	require.Equal(t, "2034-02-02", *card.ExpiresOn)
	require.Equal(t, readapi.Custody{At: domain.CustodyHolder, From: "agency-1", Handler: "agency-1"}, card.Custody)
	var custody []string
	for _, s := range card.History {
		custody = append(custody, s.Step+":"+s.From+">"+s.To)
	}
	require.Equal(t, []string{"produced:>", "handed_over:vendor-a>agency-1", "issued:>"}, custody)

	var p readapi.Progress
	h.getJSON(keyCounter, "/v1/cardholders/"+ch.CardholderID+"/progress", http.StatusOK, &p)
	var steps []string
	for i, s := range p.Steps {
		steps = append(steps, s.Step)
		if i > 0 {
			require.True(t, s.At.After(p.Steps[i-1].At), "steps carry their own times, in order")
		}
	}
	require.Equal(t, []string{"applied", "account_opened", "number_assigned", "produced", "handed_over", "issued", "activated"}, steps)

	// Person 3 replaced the card: the old one is cancelled and listed, the new one current.
	h.getJSON(keyCounter, "/v1/cardholders?id_number="+idNumberOf(3), http.StatusOK, &ch)
	require.Len(t, ch.Cards, 2)
	require.Equal(t, "C00000003", ch.CurrentCard.CardNo)
	require.Equal(t, "account_opened", ch.CurrentCard.Status)
	require.Equal(t, "cancelled", ch.Cards[0].Status)
	require.Equal(t, "replacement", ch.Cards[0].CancelCause)

	for _, path := range []string{"/v1/cardholders/nobody", "/v1/cards/Z99999999", "/v1/cardholders/nobody/progress"} {
		status, ctype, _ := h.get(keyCounter, path)
		require.Equal(t, http.StatusNotFound, status, path)
		require.Equal(t, "application/problem+json", ctype)
	}
	status, _, body := h.get(keyCounter, "/v1/cardholders?id_number=123")
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, string(body), "id_number")
}

func TestHoldingsFailuresAndPagination(t *testing.T) {
	h := newHarness(t)
	h.seed(30, seed.HistoryOptions{})
	// Seven people of one employer: five with cards, two whose production failed.
	for i := 1000; i < 1007; i++ {
		stream, events := seed.Lifecycle(seed.HistoryKey, i, false)
		reg := events[0].(domain.CardholderRegistered)
		reg.EmployerCode = "EPAGE"
		events[0] = reg
		if i >= 1005 {
			events = append(events[:4], domain.CardProductionFailed{CardNo: fmt.Sprintf("B%08d", i), Reason: "chip defect"})
		}
		h.appendEvents(stream, events...)
	}
	h.run()
	h.caughtUp()

	var all []readapi.Holding
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10)
		var page readapi.HoldingPage
		h.getJSON(keyCounter, "/v1/employers/EPAGE/holdings?limit=3&cursor="+cursor, http.StatusOK, &page)
		require.Equal(t, 7, page.ByStatus["lost"]+page.ByStatus["active"]+page.ByStatus["applied"]+
			page.ByStatus["cancelled"]+page.ByStatus["account_opened"])
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	require.Len(t, all, 7)
	for i := 1; i < len(all); i++ {
		require.Less(t, all[i-1].CardholderID, all[i].CardholderID)
	}

	var failures readapi.HoldingPage
	h.getJSON(keyCounter, "/v1/employers/EPAGE/production-failures", http.StatusOK, &failures)
	require.Len(t, failures.Items, 2)
	for _, f := range failures.Items {
		require.Equal(t, "chip defect", f.LastFailure)
		require.NotNil(t, f.FailedAt)
	}

	// Person 1's community has only person 1 among the seeded.
	var community readapi.HoldingPage
	h.getJSON(keyCounter, "/v1/communities/110102001/holdings", http.StatusOK, &community)
	require.Len(t, community.Items, 1)
	require.Equal(t, map[string]int{"lost": 1}, community.ByStatus)
}

func TestStatisticsAsJSONAndCSV(t *testing.T) {
	h := newHarness(t)
	h.seed(60, seed.HistoryOptions{})
	h.run()
	h.caughtUp()
	var cards int64
	require.NoError(t, h.pool.QueryRow(t.Context(), "SELECT count(*) FROM readmodel.cards").Scan(&cards))

	for _, path := range []string{"/v1/stats/cards-by-status", "/v1/stats/cards-by-county", "/v1/stats/cards-by-town",
		"/v1/stats/cards-by-category", "/v1/stats/issued-per-month", "/v1/stats/cards-by-agency"} {
		var st readapi.Stat
		h.getJSON(keyAnalyst, path, http.StatusOK, &st)
		var sum int64
		csvWant := []string{"key,count"}
		for _, r := range st.Rows {
			sum += r.Count
			csvWant = append(csvWant, fmt.Sprintf("%s,%d", r.Key, r.Count))
		}
		if strings.Contains(path, "issued") || strings.Contains(path, "agency") {
			require.Less(t, sum, cards, path+" counts issued cards only")
		} else {
			require.Equal(t, cards, sum, path)
		}
		for _, variant := range [][]string{{path + "?format=csv"}, {path, "Accept", "text/csv"}} {
			status, ctype, body := h.get(keyAnalyst, variant[0], variant[1:]...)
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, "text/csv; charset=utf-8", ctype)
			require.Equal(t, strings.Join(csvWant, "\n")+"\n", string(body))
		}
	}
	var byMonth readapi.Stat
	h.getJSON(keyAnalyst, "/v1/stats/issued-per-month", http.StatusOK, &byMonth)
	require.Equal(t, "2024-01", byMonth.Rows[0].Key)
}
