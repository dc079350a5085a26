package commands_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// Two accesses under one envelope are two entries; a caller that is no
// channel records nothing.
func TestRecordChannelAccessAppendsOneEntryPerCall(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	svc, err := commands.NewService(e.store, testIDKey, time.Now)
	require.NoError(t, err)
	holder := domain.CardholderIDFor(testIDKey, idNumber(9))
	env := commands.NewEnvelope(domain.Actor{Client: "rsapp-1"}, commands.ChannelMetadata("rsapp"))
	env.Scope = httpapi.Scope{Channel: "rsapp"}
	for range 2 {
		require.NoError(t, svc.RecordChannelAccess(ctx, env, holder, domain.ConsentIdentity, "code"))
	}
	require.Len(t, e.accessLog(holder), 2)
	require.NoError(t, svc.RecordChannelAccess(ctx, commands.NewEnvelope(domain.Actor{Client: "ops"}, "http"), holder, domain.ConsentIdentity, "code"))
	require.Len(t, e.accessLog(holder), 2)
	require.Error(t, svc.RecordChannelAccess(ctx, env, holder, "everything", "code"), "an unknown scope is refused")
}
