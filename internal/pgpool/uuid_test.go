package pgpool

import (
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUUIDArgumentsEncodeWithoutTheValuerFallback(t *testing.T) {
	m := pgtype.NewMap()
	EncodeUUIDs(m)
	u := uuid.MustParse("0b5c3e9e-8f5a-4a8e-9d43-2a1f6c7b8d90")

	assert.IsType(t, &uuidEncodePlan{}, m.PlanEncode(pgtype.UUIDOID, pgtype.BinaryFormatCode, u))
	got, err := m.Encode(pgtype.UUIDOID, pgtype.BinaryFormatCode, u, nil)
	require.NoError(t, err)
	assert.Equal(t, u[:], got, "binary uuid: the 16 bytes")

	// A text parameter gets the text form, as through the Valuer before.
	got, err = m.Encode(pgtype.TextOID, pgtype.TextFormatCode, u, nil)
	require.NoError(t, err)
	assert.Equal(t, u.String(), string(got))
	got, err = m.Encode(pgtype.TextOID, pgtype.BinaryFormatCode, u, nil)
	require.NoError(t, err)
	assert.Equal(t, u.String(), string(got))
	got, err = m.Encode(pgtype.UUIDOID, pgtype.BinaryFormatCode, &u, nil)
	require.NoError(t, err)
	assert.Equal(t, u[:], got, "a pointer to one")
}
