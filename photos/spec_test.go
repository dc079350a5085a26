package photos_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/photos"
	"github.com/cardledger/cardledger/photos/phototest"
)

func TestCardSpecAcceptsCardPhotos(t *testing.T) {
	img, err := photos.CardSpec.Check(phototest.JPEG(358, 441, 1))
	require.NoError(t, err)
	require.Equal(t, "image/jpeg", img.ContentType)
	require.Equal(t, [2]int{358, 441}, [2]int{img.Width, img.Height})
	img, err = photos.CardSpec.Check(phototest.PNG(102, 126, 1)) // the ID card's own photo
	require.NoError(t, err)
	require.Equal(t, "image/png", img.ContentType)
}

func TestCardSpecRefusesWithExactCodes(t *testing.T) {
	gif := []byte("GIF89a\x01\x00\x01\x00")
	truncated := phototest.JPEG(358, 441, 1)[:3]
	for name, tc := range map[string]struct {
		data []byte
		code string
	}{
		"gif":             {gif, photos.CodeTypeUnsupported},
		"text":            {[]byte("photos/2026/abc.jpg"), photos.CodeTypeUnsupported},
		"empty":           {nil, photos.CodeTypeUnsupported},
		"too large":       {phototest.PNG(800, 1000, 3), photos.CodeTooLarge},
		"landscape":       {phototest.JPEG(441, 358, 1), photos.CodeBadDimensions},
		"too small":       {phototest.JPEG(60, 80, 1), photos.CodeBadDimensions},
		"magic only":      {truncated, photos.CodeUnreadable},
		"png as jpeg":     {append([]byte{0xFF, 0xD8, 0xFF}, phototest.PNG(358, 441, 1)...), photos.CodeUnreadable},
		"square portrait": {phototest.JPEG(300, 300, 1), photos.CodeBadDimensions},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := photos.CardSpec.Check(tc.data)
			var r *photos.Refusal
			require.True(t, errors.As(err, &r), "got %v", err)
			require.Equal(t, tc.code, r.Code)
		})
	}
}

// BenchmarkCardSpecCheck: the check an upload or a police photo goes
// through (magic bytes, size, header decode), on a 358×441 JPEG.
func BenchmarkCardSpecCheck(b *testing.B) {
	img := phototest.JPEG(358, 441, 1)
	b.SetBytes(int64(len(img)))
	for b.Loop() {
		if _, err := photos.CardSpec.Check(img); err != nil {
			b.Fatal(err)
		}
	}
}
