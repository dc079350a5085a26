package piistore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Blobs are a person's data too large for an event (photos): stored in
// table pii_blobs by content address (the lower-case hex SHA-256 of the
// plaintext), sealed with AES-256-GCM under the person's current data key,
// bound to person and address. Erasure deletes them with the keys (Erase);
// a copy that survived elsewhere (a backup) no longer opens.

var (
	// ErrBlobNotFound: the person has no blob at that address.
	ErrBlobNotFound = errors.New("no such personal blob")
	// ErrBlobErased: the blob's data key is erased, so it can never be read.
	ErrBlobErased = errors.New("personal blob erased")
)

func blobAAD(subject, address string) []byte {
	return []byte("cardledger/pii/blob/v1\x00" + subject + "\x00" + address)
}

// BlobAddress is the content address of data.
func BlobAddress(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// PutBlob seals data under subject's current data key (made if the person
// has none) and stores it at its content address, which it returns.
// Storing the same bytes again changes nothing.
func (k *Keyring) PutBlob(ctx context.Context, subject string, data []byte) (string, error) {
	address := BlobAddress(data)
	keys, err := k.currentKeys(ctx, []string{subject})
	if err != nil {
		return "", fmt.Errorf("store blob: %w", err)
	}
	wk := keys[subject]
	sealed, err := sealBytes(wk.key, data, blobAAD(subject, address))
	if err != nil {
		return "", fmt.Errorf("store blob: %w", err)
	}
	if _, err := k.pool.Exec(ctx, `INSERT INTO pii_blobs (subject, address, generation, sealed) VALUES ($1, $2, $3, $4)
		ON CONFLICT (subject, address) DO NOTHING`, subject, address, wk.gen, sealed); err != nil {
		return "", fmt.Errorf("store blob: %w", err)
	}
	return address, nil
}

// Blob opens the person's blob at address: ErrBlobNotFound when there is
// none, ErrBlobErased when its key is erased.
func (k *Keyring) Blob(ctx context.Context, subject, address string) ([]byte, error) {
	var (
		gen    int
		sealed []byte
	)
	err := k.pool.QueryRow(ctx, `SELECT generation, sealed FROM pii_blobs WHERE subject = $1 AND address = $2`,
		subject, address).Scan(&gen, &sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrBlobNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read blob: %w", err)
	}
	return k.OpenBlob(ctx, subject, address, gen, sealed)
}

// OpenBlob opens sealed blob bytes as stored (a row read elsewhere, or a
// copy of it): ErrBlobErased once the key of generation gen is erased.
func (k *Keyring) OpenBlob(ctx context.Context, subject, address string, gen int, sealed []byte) ([]byte, error) {
	known, err := k.keysOf(ctx, []string{subject})
	if err != nil {
		return nil, fmt.Errorf("read blob: %w", err)
	}
	sk := known[subject]
	if sk == nil || sk.erased[gen] || sk.erased[0] && sk.keys[gen] == nil {
		return nil, ErrBlobErased
	}
	key := sk.keys[gen]
	if key == nil {
		return nil, fmt.Errorf("read blob of %s: %w (generation %d)", subject, ErrNoDataKey, gen)
	}
	data, err := openBytes(key, sealed, blobAAD(subject, address))
	if err != nil || BlobAddress(data) != address {
		return nil, fmt.Errorf("read blob of %s: %w", subject, ErrCorrupt)
	}
	return data, nil
}
