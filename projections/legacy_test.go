package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
)

// Migrated holders are read-model people like any other, and a legacy card
// recorded lost or cancelled is on the blacklist from its first event; its
// replacement takes it off as cancelled by replacement (issue 16 item 7).
func TestLegacyCardsReachTheReadModelAndTheBlacklist(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	migrated := func(id, idNumber, cardNo string, status domain.CardStatus) []domain.Event {
		return []domain.Event{
			domain.CardholderMigrated{CardholderID: id, SourceFile: "f.csv", SourceSHA256: "ab", Line: 2},
			domain.CardholderRegistered{CardholderID: id, IDNumber: idNumber, Name: "张三", Sex: domain.Male,
				BirthDate: "1990-03-07", Nationality: "CHN", RegionCode: "320505"},
			domain.LegacyCardRecorded{CardNo: cardNo, IssuedOn: "2009-05-04", ExpiresOn: "2019-05-04", Status: status, Generation: domain.GenerationFirst},
		}
	}
	e.appendEvents(t, domain.StreamFor("aa01"), migrated("aa01", "320505199003071336", "L00000001", domain.StatusLost)...)
	e.appendEvents(t, domain.StreamFor("aa02"), migrated("aa02", "320505199003071352", "L00000002", domain.StatusActive)...)
	e.appendEvents(t, domain.StreamFor("aa02"),
		domain.CardCancelled{CardNo: "L00000002", Cause: domain.CauseReplacement, From: domain.StatusActive},
		domain.CardApplied{ApplicationID: "app-3", Source: domain.SourceCounter, Kind: domain.Replacement, ReplacesCardNo: "L00000002", Generation: domain.GenerationThird})
	r := e.runner()
	e.start(t, r)
	e.waitCaughtUp(t, r)

	var holders, cards int
	require.NoError(t, e.pool.QueryRow(ctx, "SELECT count(*) FROM readmodel.cardholders").Scan(&holders))
	require.NoError(t, e.pool.QueryRow(ctx, "SELECT count(*) FROM readmodel.cards WHERE card_no LIKE 'L%'").Scan(&cards))
	require.Equal(t, 2, holders)
	require.Equal(t, 2, cards)
	require.Equal(t, map[string]string{"L00000001": "lost", "L00000002": "cancelled"}, tableBlacklist(t, e.pool))
	require.Equal(t, expectedBlacklist(t, e.store), tableBlacklist(t, e.pool))
}
