package pgpool

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSameDatabase(t *testing.T) {
	base := "postgres://app@db1:5432/cardledger?sslmode=disable"
	for _, tc := range []struct {
		other string
		same  bool
	}{
		{base, true},
		{"postgres://app@db1:5432/cardledger?sslmode=disable&pool_max_conns=8&pool_acquire_timeout=1s", true},
		{"postgres://app@db1/cardledger?sslmode=disable", true}, // 5432 is the default port
		{"host=db1 user=app dbname=cardledger sslmode=disable", true},
		{"postgres://app@db1:5432/events?sslmode=disable", false},
		{"postgres://app@db2:5432/cardledger?sslmode=disable", false},
		{"postgres://other@db1:5432/cardledger?sslmode=disable", false},
		{"esdb://db1:2113?tls=false", false},
	} {
		assert.Equal(t, tc.same, SameDatabase(base, tc.other), tc.other)
	}
}

func TestParseConfigDefaultsAndAcquireTimeout(t *testing.T) {
	cfg, err := ParseConfig("postgres://app@db1/cardledger?sslmode=disable")
	require.NoError(t, err)
	assert.Equal(t, int32(DefaultMaxConns), cfg.MaxConns)
	assert.Equal(t, DefaultConnectTimeout, cfg.ConnConfig.ConnectTimeout)
	assert.Equal(t, acquireDeadline{DefaultAcquireTimeout}, cfg.ConnConfig.Tracer)

	cfg, err = ParseConfig("postgres://app@db1/cardledger?sslmode=disable&pool_max_conns=7&pool_acquire_timeout=250ms&connect_timeout=2")
	require.NoError(t, err)
	assert.Equal(t, int32(7), cfg.MaxConns)
	assert.Equal(t, 2*time.Second, cfg.ConnConfig.ConnectTimeout)
	assert.Equal(t, acquireDeadline{250 * time.Millisecond}, cfg.ConnConfig.Tracer)
	assert.NotContains(t, cfg.ConnConfig.RuntimeParams, acquireTimeoutParam, "not sent to the server")

	cfg, err = ParseConfig("host=db1 dbname=cardledger pool_acquire_timeout=0")
	require.NoError(t, err)
	assert.Nil(t, cfg.ConnConfig.Tracer, "0 turns the bound off")

	_, err = ParseConfig("postgres://db1/x?pool_acquire_timeout=soon")
	require.Error(t, err)
}

func TestParseReadConfigDefaultsToTheReadBudget(t *testing.T) {
	cfg, err := ParseReadConfig("postgres://app@replica1/cardledger?sslmode=disable")
	require.NoError(t, err)
	assert.Equal(t, int32(DefaultReadMaxConns), cfg.MaxConns)
	assert.Equal(t, acquireDeadline{DefaultAcquireTimeout}, cfg.ConnConfig.Tracer)

	cfg, err = ParseReadConfig("postgres://app@replica1/cardledger?sslmode=disable&pool_max_conns=3")
	require.NoError(t, err)
	assert.Equal(t, int32(3), cfg.MaxConns)
}
