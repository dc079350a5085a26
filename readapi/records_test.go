package readapi_test

import (
	"fmt"
	"net/http"
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

// statsHolder appends person i living in region and community, then the
// card events.
func (h *harness) statsHolder(i int, region, community string, events ...domain.Event) {
	h.t.Helper()
	stream, seeded := seed.Lifecycle(seed.HistoryKey, i, false)
	reg := seeded[0].(domain.CardholderRegistered)
	reg.RegionCode, reg.CommunityCode = region, community
	h.appendEvents(stream, append([]domain.Event{reg}, events...)...)
}

// numbered is an application up to its card number.
func numbered(app, cardNo string, kind domain.ApplicationKind, replaces string) []domain.Event {
	return []domain.Event{
		domain.CardApplied{ApplicationID: app, Source: domain.SourceCounter, Kind: kind, BankCode: "102", ReplacesCardNo: replaces},
		domain.BankAccountOpened{ApplicationID: app, BankCode: "102", AccountNo: "62170000000000" + cardNo[1:]},
		domain.CardNumberAssigned{ApplicationID: app, CardNo: cardNo},
	}
}

// issued is a first-issue card up to its activation on the day on by agency.
func issued(app, cardNo, on, agency string) []domain.Event {
	return append(numbered(app, cardNo, domain.FirstIssue, ""),
		domain.CardProduced{CardNo: cardNo, ChipID: "0000000000000000000000000" + cardNo[1:], Vendor: "vendor-a"},
		domain.CardIssued{CardNo: cardNo, IssuedOn: on, ExpiresOn: "2034" + on[4:], Agency: agency},
		domain.CardActivated{CardNo: cardNo})
}

// Every statistic groups a known set of cards into exactly the groups and
// counts it should: a wrong GROUP BY key or filter gives other rows.
func TestStatisticsAsJSONAndCSV(t *testing.T) {
	h := newHarness(t)
	h.statsHolder(1, "320505", "C-A", issued("app-1", "S00000001", "2024-03-05", "AG-X")...)
	h.statsHolder(2, "320505", "C-B", append(issued("app-2", "S00000002", "2024-03-20", "AG-Y"),
		domain.CardReportedLost{CardNo: "S00000002"})...)
	h.statsHolder(3, "320506", "C-B", append(append(issued("app-3", "S00000003", "2024-04-01", "AG-X"),
		domain.CardCancelled{CardNo: "S00000003", Cause: domain.CauseReplacement, From: domain.StatusActive}),
		numbered("app-3r", "S00000004", domain.Replacement, "S00000003")...)...)
	h.statsHolder(4, "320506", "C-C", numbered("app-4", "S00000005", domain.FirstIssue, "")...)
	h.statsHolder(5, "320507", "", append(issued("app-5", "S00000006", "2024-04-15", ""),
		domain.CardTemporarilyLost{CardNo: "S00000006"})...)
	h.run()
	h.caughtUp()

	for _, tc := range []struct {
		path string
		want []readapi.StatRow
	}{
		{"/v1/stats/cards-by-status", []readapi.StatRow{{Key: "account_opened", Count: 2}, {Key: "active", Count: 1},
			{Key: "cancelled", Count: 1}, {Key: "lost", Count: 1}, {Key: "temporarily_lost", Count: 1}}},
		{"/v1/stats/cards-by-county", []readapi.StatRow{{Key: "320505", Count: 2}, {Key: "320506", Count: 3}, {Key: "320507", Count: 1}}},
		{"/v1/stats/cards-by-town", []readapi.StatRow{{Key: "C-A", Count: 1}, {Key: "C-B", Count: 3}, {Key: "C-C", Count: 1},
			{Key: "unknown", Count: 1}}},
		{"/v1/stats/cards-by-category", []readapi.StatRow{{Key: "first_issue", Count: 5}, {Key: "replacement", Count: 1}}},
		{"/v1/stats/issued-per-month", []readapi.StatRow{{Key: "2024-03", Count: 2}, {Key: "2024-04", Count: 2}}},
		{"/v1/stats/cards-by-agency", []readapi.StatRow{{Key: "AG-X", Count: 2}, {Key: "AG-Y", Count: 1}, {Key: "unknown", Count: 1}}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			var st readapi.Stat
			h.getJSON(keyAnalyst, tc.path, http.StatusOK, &st)
			require.Equal(t, tc.want, st.Rows)
			csvWant := "key,count\n"
			for _, r := range tc.want {
				csvWant += fmt.Sprintf("%s,%d\n", r.Key, r.Count)
			}
			for _, variant := range [][]string{{tc.path + "?format=csv"}, {tc.path, "Accept", "text/csv"}} {
				status, ctype, body := h.get(keyAnalyst, variant[0], variant[1:]...)
				require.Equal(t, http.StatusOK, status)
				require.Equal(t, "text/csv; charset=utf-8", ctype)
				require.Equal(t, csvWant, string(body))
			}
		})
	}
}

// An ID-number change links two streams: a read of either names the
// other, so a client finds the person under the old number or the new.
func TestCardholderReadNamesTheStreamOfAnIDNumberChange(t *testing.T) {
	h := newHarness(t)
	h.run()
	oldNo, newNo := idNumberOf(5), idNumberOf(6)
	oldID, newID := domain.CardholderIDFor(seed.HistoryKey, oldNo), domain.CardholderIDFor(seed.HistoryKey, newNo)
	reg := func(id, no string) domain.CardholderRegistered {
		born, err := domain.BirthDateOf(no)
		require.NoError(t, err)
		return domain.CardholderRegistered{CardholderID: id, IDNumber: no, Name: "欧阳明月", Sex: domain.SexOf(no),
			BirthDate: born.Format(domain.DateLayout), Nationality: "CHN", RegionCode: "320506"}
	}
	h.appendEvents(domain.StreamFor(oldID), reg(oldID, oldNo),
		domain.IdentityMovedOut{ToCardholderID: newID, Reason: "birth date corrected"})
	h.appendEvents(domain.StreamFor(newID), domain.IdentityMovedIn{FromCardholderID: oldID, Reason: "birth date corrected"},
		reg(newID, newNo))
	h.caughtUp()

	var old, moved, plain readapi.Cardholder
	h.getJSON(keyCounter, "/v1/cardholders?id_number="+oldNo, http.StatusOK, &old)
	require.Equal(t, oldID, old.CardholderID)
	require.Equal(t, newID, old.MovedTo, "the old number's read names where the person went")
	require.Empty(t, old.MovedFrom)
	h.getJSON(keyCounter, "/v1/cardholders/"+old.MovedTo, http.StatusOK, &moved)
	require.Equal(t, newNo, moved.IDNumber)
	require.Equal(t, oldID, moved.MovedFrom, "the new number's read names where the person came from")
	require.Empty(t, moved.MovedTo)

	h.appendEvents(domain.StreamFor(domain.CardholderIDFor(seed.HistoryKey, idNumberOf(7))),
		reg(domain.CardholderIDFor(seed.HistoryKey, idNumberOf(7)), idNumberOf(7)))
	h.caughtUp()
	h.getJSON(keyCounter, "/v1/cardholders?id_number="+idNumberOf(7), http.StatusOK, &plain)
	require.Empty(t, plain.MovedTo+plain.MovedFrom, "a holder who never changed number has no link")
}
