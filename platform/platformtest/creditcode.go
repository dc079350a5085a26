// Package platformtest holds what tests of the open platform share.
package platformtest

import (
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
)

// NewCreditCode is a valid unified social credit code (Jining's region
// code, a random organisation code), new on each call: an organisation
// registers one account, so every test account needs its own.
func NewCreditCode(t testing.TB) string {
	t.Helper()
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	b := make([]byte, 9)
	_, err := rand.Read(b)
	require.NoError(t, err)
	base := "91370800"
	for _, c := range b {
		base += string(alphabet[int(c)%len(alphabet)])
	}
	check, err := domain.CreditCodeCheckChar(base)
	require.NoError(t, err)
	return base + string(check)
}
