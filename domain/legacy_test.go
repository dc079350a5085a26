package domain

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const legacyCardNo = "L00012345"

func migrateCmd() MigrateCardholder {
	return MigrateCardholder{
		Cardholder: RegisterCardholder{CardholderID: testHolderID, IDNumber: testIDNumber, Name: "张三", Nationality: "CHN", RegionCode: "320505"},
		SourceFile: "cards-2009.csv", SourceSHA256: "ab12", Line: 7,
		LegacyCardNo: legacyCardNo, IssuedOn: "2009-05-04", Status: StatusActive, Agency: "苏州市社保中心",
		Today: testDay,
	}
}

func migrated(status CardStatus) []Event {
	return []Event{
		CardholderMigrated{CardholderID: testHolderID, SourceFile: "cards-2009.csv", SourceSHA256: "ab12", Line: 7},
		registered()[0],
		LegacyCardRecorded{CardNo: legacyCardNo, IssuedOn: "2009-05-04", ExpiresOn: "2019-05-04", Status: status, Agency: "苏州市社保中心", Generation: GenerationFirst},
	}
}

func TestMigrateRecordsFileLineRegistrationAndLegacyCard(t *testing.T) {
	c := given(t).when(migrateCmd()).thenEvents(migrated(StatusActive)...)
	require.Equal(t, &Migration{SourceFile: "cards-2009.csv", SourceSHA256: "ab12", Line: 7}, c.Migration)
	require.True(t, c.Registered)
	require.Equal(t, StatusActive, c.Status())
	require.Equal(t, GenerationFirst, c.Card.Generation)
	require.Equal(t, legacyCardNo, c.Card.CardNo)
	require.Equal(t, "2019-05-04", c.Card.ExpiresOn)
}

func TestMigrateRefusesAHolderWithAStream(t *testing.T) {
	given(t, registered()).when(migrateCmd()).thenError(CodeAlreadyRegistered)
	given(t, migrated(StatusActive)).when(migrateCmd()).thenError(CodeAlreadyRegistered)
}

func TestMigrateFieldRules(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*MigrateCardholder)
		field  string
		code   string
	}{
		{"card number malformed", func(m *MigrateCardholder) { m.LegacyCardNo = "12345" }, "card_no", CodeInvalidCardNo},
		{"impossible date", func(m *MigrateCardholder) { m.IssuedOn = "2009-02-30" }, "issue_date", CodeInvalidValue},
		{"date before the programme", func(m *MigrateCardholder) { m.IssuedOn = "1980-01-01" }, "issue_date", CodeInvalidValue},
		{"date in the future", func(m *MigrateCardholder) { m.IssuedOn = "2024-03-02" }, "issue_date", CodeInvalidValue},
		{"date missing", func(m *MigrateCardholder) { m.IssuedOn = "" }, "issue_date", CodeRequired},
		{"unknown status", func(m *MigrateCardholder) { m.Status = "frozen" }, "status", CodeInvalidValue},
		{"status not a legacy one", func(m *MigrateCardholder) { m.Status = StatusApplied }, "status", CodeInvalidValue},
		{"line zero", func(m *MigrateCardholder) { m.Line = 0 }, "line", CodeInvalidValue},
		{"bad id number", func(m *MigrateCardholder) { m.Cardholder.IDNumber = "320505199003071337" }, "id_number", CodeInvalidIDNumber},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := migrateCmd()
			tc.change(&cmd)
			given(t).when(cmd).thenFieldError(tc.field, tc.code)
		})
	}
}

func TestMigrateReportsCardAndPersonFieldsAtOnce(t *testing.T) {
	cmd := migrateCmd()
	cmd.Status, cmd.Cardholder.Name = "??", ""
	e := given(t).when(cmd).thenError(CodeInvalidCommand)
	require.ElementsMatch(t, []string{"status:" + CodeInvalidValue, "name:" + CodeRequired}, fieldCodes(e))
}

func TestLegacyStatusesReplayToTheirStatus(t *testing.T) {
	for _, s := range LegacyStatuses() {
		c := Replay(testHolderID, migrated(s))
		require.Equal(t, s, c.Status())
	}
	require.Equal(t, StatusActive, Replay(testHolderID, append(migrated(StatusLost), CardUnlocked{CardNo: legacyCardNo, Lifted: StatusLost})).Status())
	require.Equal(t, StatusActive, Replay(testHolderID, append(migrated(StatusCancelled), CardCancellationRestored{CardNo: legacyCardNo, To: StatusActive})).Status())
}

// A migrated holder gets a second- or third-generation card as a
// replacement of the legacy one: the legacy card is cancelled in the same
// decision, so there is never more than one valid card.
func TestMigratedHolderReplacesTheLegacyCardWithAThirdGeneration(t *testing.T) {
	c := given(t, migrated(StatusActive)).
		when(ReplaceCard{CardNo: legacyCardNo, ApplicationID: "app-2", Source: SourceCounter, Generation: GenerationThird}).
		thenEvents(
			CardCancelled{CardNo: legacyCardNo, Cause: CauseReplacement, From: StatusActive},
			CardApplied{ApplicationID: "app-2", Source: SourceCounter, Kind: Replacement, ReplacesCardNo: legacyCardNo, Generation: GenerationThird},
		)
	require.Equal(t, GenerationThird, c.Card.Generation)
	require.Equal(t, GenerationFirst, c.PastCards[0].Generation)
	require.Equal(t, StatusCancelled, c.PastCards[0].Status)
}

func TestMigratedHolderCannotApplyBesideTheLegacyCard(t *testing.T) {
	given(t, migrated(StatusActive)).when(ApplyForCard{ApplicationID: "app-2", Source: SourceOnline}).thenError(CodeValidCardExists)
	given(t, migrated(StatusLost)).when(ApplyForCard{ApplicationID: "app-2", Source: SourceOnline}).thenError(CodeValidCardExists)
	given(t, migrated(StatusCancelled)).when(ApplyForCard{ApplicationID: "app-2", Source: SourceOnline}).thenEvents(
		CardApplied{ApplicationID: "app-2", Source: SourceOnline, Kind: Replacement, ReplacesCardNo: legacyCardNo},
	)
}

func TestReplacementCannotAskForAFirstGeneration(t *testing.T) {
	given(t, migrated(StatusActive)).
		when(ReplaceCard{CardNo: legacyCardNo, ApplicationID: "app-2", Source: SourceCounter, Generation: GenerationFirst}).
		thenFieldError("generation", CodeInvalidValue)
}

// Streams stored before generations replay unchanged: their cards read as second generation.
func TestCardsWithoutAGenerationAreSecond(t *testing.T) {
	c := Replay(testHolderID, active())
	require.Equal(t, Generation(""), c.Card.Generation)
	require.Equal(t, GenerationSecond, c.Card.Generation.OrSecond())
}

func TestLegacyEventsRoundTripThroughTheCodec(t *testing.T) {
	for _, e := range migrated(StatusLost) {
		typ, data, err := EncodeEvent(e)
		require.NoError(t, err)
		got, err := DecodeEvent(typ, SchemaVersion(typ), data)
		require.NoError(t, err)
		require.Equal(t, e, got)
	}
}
