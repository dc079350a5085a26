package identity_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/identity"
	"github.com/cardledger/cardledger/photos"
)

const zhang = "11010519491231002X"

func serve(t *testing.T, timeout time.Duration) (*identity.Simulator, *identity.Client, *httptest.Server) {
	t.Helper()
	sim := identity.NewSimulator(identity.Person{IDNumber: zhang, Name: "张三"})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c, err := identity.NewClient(srv.URL, timeout)
	require.NoError(t, err)
	return sim, c, srv
}

// Every verdict and every failure of the source over real HTTP, each its
// own error.
func TestClientAgainstTheSimulator(t *testing.T) {
	ctx := context.Background()
	sim, c, srv := serve(t, 300*time.Millisecond)

	photo, err := c.Verify(ctx, strings.ToLower(zhang), "张三")
	require.NoError(t, err)
	require.Equal(t, identity.SyntheticPhoto(zhang), photo)
	_, err = photos.CardSpec.Check(photo)
	require.NoError(t, err, "the simulator's photo is a card photo")

	_, err = c.Verify(ctx, zhang, "张叁")
	require.ErrorIs(t, err, identity.ErrMismatch)
	_, err = c.Verify(ctx, "320505199003071336", "张三")
	require.ErrorIs(t, err, identity.ErrNotFound)

	for fault, want := range map[identity.Fault]error{
		identity.FaultUnavailable: identity.ErrUnavailable,
		identity.FaultGarbage:     identity.ErrBadAnswer,
		identity.FaultSlow:        identity.ErrTimeout,
	} {
		sim.SetFault(fault)
		_, err = c.Verify(ctx, zhang, "张三")
		require.ErrorIs(t, err, want, "fault %s: %v", fault, err)
	}
	sim.SetFault(identity.FaultNone)
	_, err = c.Verify(ctx, zhang, "张三")
	require.NoError(t, err)

	srv.Close()
	_, err = c.Verify(ctx, zhang, "张三")
	require.ErrorIs(t, err, identity.ErrUnavailable, "nobody listening")
}

func TestReadPeople(t *testing.T) {
	people, err := identity.ReadPeople(strings.NewReader("id_number,name\n" + zhang + ",张三\n320505199003071336, 李四 \n"))
	require.NoError(t, err)
	require.Equal(t, []identity.Person{{IDNumber: zhang, Name: "张三"}, {IDNumber: "320505199003071336", Name: "李四"}}, people)
	_, err = identity.ReadPeople(strings.NewReader(zhang + "\n"))
	require.ErrorContains(t, err, "line 1")
}

func TestNewClientRefusesBadURLs(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "police.local:80", "http://"} {
		_, err := identity.NewClient(u, time.Second)
		require.Error(t, err, u)
	}
}
