package batch

import (
	"context"
	"encoding/base64"
	"errors"

	"github.com/cardledger/cardledger/batch/files"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/photos"
)

// photoOf fills the production file's photo column (制卡文件含照片): the
// member's stored photo, base64. A batch file's free-text reference has no
// stored image (the vendor gets the reference alone), nor has an erased
// person; a stored photo that cannot be read fails the export rather than
// sending a card to print without its photo.
func (s *Service) photoOf(ctx context.Context) files.PhotoOf {
	if s.photos == nil {
		return nil
	}
	return func(m domain.BatchMember) (string, error) {
		if !domain.IsPhotoRef(m.PhotoRef) {
			return "", nil
		}
		data, err := s.photos.Get(ctx, m.CardholderID, m.PhotoRef)
		if errors.Is(err, photos.ErrErased) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		return base64.StdEncoding.EncodeToString(data), nil
	}
}
