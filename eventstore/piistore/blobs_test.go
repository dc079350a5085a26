package piistore_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/eventstore/piistore"
)

// A blob is stored sealed at its content address, opens for its person
// only, and is gone — row deleted, a kept copy unreadable — after erasure.
func TestBlobsAreSealedAndErasedWithTheirPerson(t *testing.T) {
	f := newFixture(t)
	photo := bytes.Repeat([]byte("\xff\xd8 a photo of a person "), 40)
	addr, err := f.keys.PutBlob(f.ctx, "holder-a", photo)
	require.NoError(t, err)
	require.Equal(t, piistore.BlobAddress(photo), addr)
	again, err := f.keys.PutBlob(f.ctx, "holder-a", photo)
	require.NoError(t, err)
	require.Equal(t, addr, again)
	_, err = f.keys.PutBlob(f.ctx, "holder-b", photo)
	require.NoError(t, err)

	var (
		gen    int
		sealed []byte
	)
	require.NoError(t, f.pool.QueryRow(f.ctx, `SELECT generation, sealed FROM pii_blobs WHERE subject = 'holder-a'`).Scan(&gen, &sealed))
	require.False(t, bytes.Contains(sealed, []byte("a photo of a person")), "stored in clear")
	got, err := f.keys.Blob(f.ctx, "holder-a", addr)
	require.NoError(t, err)
	require.Equal(t, photo, got)
	// Bound to its person: holder-b's key does not open holder-a's bytes.
	_, err = f.keys.OpenBlob(f.ctx, "holder-b", addr, gen, sealed)
	require.ErrorIs(t, err, piistore.ErrCorrupt)
	_, err = f.keys.Blob(f.ctx, "holder-a", piistore.BlobAddress([]byte("other")))
	require.ErrorIs(t, err, piistore.ErrBlobNotFound)

	require.NoError(t, f.keys.Erase(f.ctx, "holder-a"))
	_, err = f.keys.Blob(f.ctx, "holder-a", addr)
	require.ErrorIs(t, err, piistore.ErrBlobNotFound)
	_, err = f.keyring(t, f.master).OpenBlob(f.ctx, "holder-a", addr, gen, sealed)
	require.ErrorIs(t, err, piistore.ErrBlobErased, "a copy kept from before the erasure")
	got, err = f.keys.Blob(f.ctx, "holder-b", addr)
	require.NoError(t, err)
	require.Equal(t, photo, got, "another person's copy stays")
}
