package photos

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore/piistore"
)

// ErrNotFound: the holder has no stored photo at that address.
var ErrNotFound = errors.New("photo not found")

// ErrErased: the photo was erased with its holder's data key.
var ErrErased = errors.New("photo erased")

// Store keeps photos sealed under their holder's data key.
type Store struct {
	keys *piistore.Keyring
	spec Spec
}

// NewStore stores photos meeting spec through keys.
func NewStore(keys *piistore.Keyring, spec Spec) *Store {
	return &Store{keys: keys, spec: spec}
}

// Put checks data (a *Refusal when it is no card photo) and stores it for
// holder; the answer describes it for domain.CollectPhoto.
func (s *Store) Put(ctx context.Context, holder string, data []byte, source domain.PhotoSource) (domain.Photo, error) {
	img, err := s.spec.Check(data)
	if err != nil {
		return domain.Photo{}, err
	}
	addr, err := s.keys.PutBlob(ctx, holder, data)
	if err != nil {
		return domain.Photo{}, fmt.Errorf("store photo: %w", err)
	}
	return domain.Photo{Ref: domain.PhotoRefPrefix + addr, Source: source, ContentType: img.ContentType,
		Width: img.Width, Height: img.Height, Bytes: img.Bytes}, nil
}

// Get opens the holder's photo ref: ErrNotFound or ErrErased when it
// cannot be had.
func (s *Store) Get(ctx context.Context, holder, ref string) ([]byte, error) {
	if ref == domain.ErasedMarker {
		return nil, ErrErased
	}
	addr, ok := strings.CutPrefix(ref, domain.PhotoRefPrefix)
	if !ok || !domain.IsPhotoRef(ref) {
		return nil, ErrNotFound // a free-text reference of an old application or a batch file
	}
	data, err := s.keys.Blob(ctx, holder, addr)
	switch {
	case errors.Is(err, piistore.ErrBlobErased):
		return nil, ErrErased
	case errors.Is(err, piistore.ErrBlobNotFound):
		return nil, ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("read photo: %w", err)
	}
	return data, nil
}
