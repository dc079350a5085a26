package domain

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const newHolderID = "fedcba9876543210fedcba9876543210"

func TestMoveIdentityReplacesTheCardAndClosesTheOldStream(t *testing.T) {
	c := given(t, withECard(active())).when(MoveIdentity{NewCardholderID: newHolderID, Reason: "ID number changed by the police"}).
		thenEvents(
			CardCancelled{CardNo: testCardNo, Cause: CauseReplacement, From: StatusActive, Reason: "ID number changed by the police"},
			ECardRevoked{CardNo: testCardNo, Cause: ECardCauseCardCancelled},
			IdentityMovedOut{ToCardholderID: newHolderID, ReplacedCardNo: testCardNo, Reason: "ID number changed by the police"})
	require.Equal(t, newHolderID, c.MovedTo)
	require.Equal(t, StatusCancelled, c.Status())

	moved := append(active(), IdentityMovedOut{ToCardholderID: newHolderID, ReplacedCardNo: testCardNo, Reason: "r"})
	given(t, moved).when(ApplyForCard{ApplicationID: "app-2", Source: SourceCounter}).thenError(CodeIdentityMoved)
	given(t, moved).when(CorrectPersonalData{Field: CorrectName, Value: "张叁", Reason: "r"}).thenError(CodeIdentityMoved)
	given(t, moved).when(MoveIdentity{NewCardholderID: newHolderID, Reason: "again"}).thenError(CodeIdentityMoved)
	given(t, moved).when(EraseCardholder{}).thenEvents(CardholderErased{CardholderID: testHolderID})
}

func TestMoveIdentityWithoutACardInHand(t *testing.T) {
	given(t, registered()).when(MoveIdentity{NewCardholderID: newHolderID, Reason: "r"}).
		thenEvents(IdentityMovedOut{ToCardholderID: newHolderID, Reason: "r"})
	given(t, cancelled()).when(MoveIdentity{NewCardholderID: newHolderID, Reason: "r"}).
		thenEvents(IdentityMovedOut{ToCardholderID: newHolderID, Reason: "r"})
	// A card in production would carry the old number.
	given(t, produced()).when(MoveIdentity{NewCardholderID: newHolderID, Reason: "r"}).thenError(CodeInvalidTransition)
	given(t, transferred()).when(MoveIdentity{NewCardholderID: newHolderID, Reason: "r"}).thenError(CodeTransferredOut)
	given(t, registered()).when(MoveIdentity{NewCardholderID: newHolderID}).thenFieldError("reason", CodeRequired)
	given(t, registered()).when(MoveIdentity{NewCardholderID: testHolderID, Reason: "r"}).thenFieldError("new_cardholder_id", CodeMismatch)
	given(t).when(MoveIdentity{NewCardholderID: newHolderID, Reason: "r"}).thenError(CodeCardholderNotFound)
}

// The new stream (here testHolderID, of testIDNumber) starts with the link
// to the old one (oldHolderID), then the registration and the replacement.
func TestRegisterMovedIdentityLinksTheOldStreamFirst(t *testing.T) {
	const oldHolderID = newHolderID
	reg := RegisterCardholder{CardholderID: testHolderID, IDNumber: testIDNumber, Name: "张三", Nationality: "CHN", RegionCode: "320505"}
	registeredEvent := CardholderRegistered{CardholderID: testHolderID, IDNumber: testIDNumber, Name: "张三", Sex: Male,
		BirthDate: "1990-03-07", Nationality: "CHN", RegionCode: "320505"}
	c := given(t).when(RegisterMovedIdentity{Register: reg, FromCardholderID: oldHolderID, ReplacesCardNo: testCardNo,
		ApplicationID: "app-9", Reason: "ID number changed"}).
		thenEvents(
			IdentityMovedIn{FromCardholderID: oldHolderID, ReplacesCardNo: testCardNo, Reason: "ID number changed"},
			registeredEvent,
			CardApplied{ApplicationID: "app-9", Source: SourceCounter, Kind: Replacement, ReplacesCardNo: testCardNo})
	require.Equal(t, oldHolderID, c.MovedFrom)
	require.True(t, c.Registered)
	require.Equal(t, StatusApplied, c.Status())
	require.Equal(t, testCardNo, c.Card.ReplacesCardNo)

	// Without a card to replace: the link and the registration only.
	given(t).when(RegisterMovedIdentity{Register: reg, FromCardholderID: oldHolderID, Reason: "r"}).
		thenEvents(IdentityMovedIn{FromCardholderID: oldHolderID, Reason: "r"}, registeredEvent)

	// Refusals: the link's and the registration's fields at once; a
	// stream already registered.
	bad := reg
	bad.Name = ""
	given(t).when(RegisterMovedIdentity{Register: bad, FromCardholderID: oldHolderID}).thenFieldError("reason", CodeRequired)
	given(t).when(RegisterMovedIdentity{Register: bad, FromCardholderID: oldHolderID}).thenFieldError("name", CodeRequired)
	given(t).when(RegisterMovedIdentity{Register: reg, FromCardholderID: oldHolderID, ReplacesCardNo: testCardNo, Reason: "r"}).
		thenFieldError("application_id", CodeRequired)
	given(t).when(RegisterMovedIdentity{Register: reg, FromCardholderID: testHolderID, Reason: "r"}).
		thenFieldError("from_cardholder_id", CodeMismatch)
	given(t, registered()).when(RegisterMovedIdentity{Register: reg, FromCardholderID: oldHolderID, Reason: "r"}).
		thenError(CodeAlreadyRegistered)
}
