package unavailable_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/netcut"
	"github.com/cardledger/cardledger/internal/testpg"
	"github.com/cardledger/cardledger/internal/unavailable"
)

// Real failures of a real PostgreSQL server, each classified.
func TestClassifyPostgresFailures(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dbURL := testpg.NewDatabase(t)
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	proxy := netcut.New(t, u.Host)
	u.Host = proxy.Addr
	viaProxy := u.String()

	outage := func(t *testing.T, err error) {
		t.Helper()
		require.Error(t, err)
		e, ok := unavailable.Classify(fmt.Errorf("context: %w", err))
		require.True(t, ok, "%v (%T) is an outage", err, err)
		assert.Equal(t, unavailable.PostgreSQL, e.Dependency, "%v", err)
	}

	t.Run("refused", func(t *testing.T) {
		proxy.Cut()
		defer func() { require.NoError(t, proxy.Restore()) }()
		_, err := pgx.Connect(ctx, viaProxy)
		outage(t, err)
	})
	t.Run("reset mid-session", func(t *testing.T) {
		conn, err := pgx.Connect(ctx, viaProxy)
		require.NoError(t, err)
		defer conn.Close(ctx)
		proxy.Cut()
		defer func() { require.NoError(t, proxy.Restore()) }()
		_, err = conn.Exec(ctx, "SELECT 1")
		e, ok := unavailable.Classify(err)
		require.True(t, ok, "%v (%T) is an outage", err, err)
		_ = e // a broken connection may not say it was PostgreSQL's
	})
	t.Run("terminated by the administrator", func(t *testing.T) {
		conn, err := pgx.Connect(ctx, dbURL)
		require.NoError(t, err)
		defer conn.Close(ctx)
		testpg.MustExec(t, dbURL, "SELECT pg_terminate_backend($1)", int(conn.PgConn().PID()))
		_, err = conn.Exec(ctx, "SELECT 1")
		e, ok := unavailable.Classify(err)
		require.True(t, ok, "%v (%T) is an outage", err, err)
		_ = e
	})
	t.Run("too many connections", func(t *testing.T) {
		name := strings.TrimPrefix(u.Path, "/")
		testpg.MustExec(t, testpg.ServerURL(), "ALTER DATABASE "+name+" CONNECTION LIMIT 0")
		defer testpg.MustExec(t, testpg.ServerURL(), "ALTER DATABASE "+name+" CONNECTION LIMIT -1")
		// A superuser ignores a database's limit; a plain role does not.
		testpg.MustExec(t, dbURL, "CREATE ROLE "+name+"_limited LOGIN")
		defer testpg.MustExec(t, dbURL, "DROP ROLE "+name+"_limited")
		lu, err := url.Parse(dbURL)
		require.NoError(t, err)
		lu.User = url.User(name + "_limited")
		_, err = pgx.Connect(ctx, lu.String())
		outage(t, err)
		assert.Contains(t, err.Error(), "53300")
	})
	t.Run("not outages", func(t *testing.T) {
		conn, err := pgx.Connect(ctx, dbURL)
		require.NoError(t, err)
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "SELECT * FROM no_such_table")
		_, ok := unavailable.Classify(err)
		assert.False(t, ok, "%v", err)
		_, err = conn.Exec(ctx, "SELECT 1/0")
		_, ok = unavailable.Classify(err)
		assert.False(t, ok, "%v", err)
		_, ok = unavailable.Classify(errors.New("a bug"))
		assert.False(t, ok)
		_, ok = unavailable.Classify(context.Canceled)
		assert.False(t, ok, "the client went away: not an outage")
	})
}

func TestClassifyNamesTheEventStore(t *testing.T) {
	e, ok := unavailable.Classify(fmt.Errorf("append s: %w: %w", eventstore.ErrUnavailable, errors.New("grpc: unavailable")))
	require.True(t, ok)
	assert.Equal(t, unavailable.EventStore, e.Dependency)

	err := unavailable.Default(unavailable.ClickHouse, fmt.Errorf("query: %w", context.DeadlineExceeded))
	e, ok = unavailable.Classify(err)
	require.True(t, ok)
	assert.Equal(t, unavailable.ClickHouse, e.Dependency)
	assert.Equal(t, errors.New("x"), unavailable.Default(unavailable.ClickHouse, errors.New("x")), "not an outage: unchanged")
}
