// Package photos stores holders' photos (照片采集维护): it checks an image
// against the card photo specification (type by magic bytes, size,
// dimensions) and keeps it sealed under the person's data key at its
// content address (eventstore/piistore blobs), so that erasing the person
// erases the photo. The domain records which photo is the holder's current
// one (domain.PhotoCollected); this package holds the bytes.
package photos

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg" // DecodeConfig of JPEG
	_ "image/png"  // DecodeConfig of PNG
)

// Spec is what a card photo must be. The seeds name photo collection
// (照片采集维护) and production files "containing photos" but give no
// specification; CardSpec is the common one of second-generation cards
// (358×441 px colour portrait, the ID card's 102×126 px also accepted).
type Spec struct {
	MaxBytes             int
	MinWidth, MaxWidth   int
	MinHeight, MaxHeight int
	// MinRatio and MaxRatio bound height/width: a portrait.
	MinRatio, MaxRatio float64
}

// CardSpec is the specification every stored photo meets.
var CardSpec = Spec{MaxBytes: 100 << 10, MinWidth: 102, MaxWidth: 1000, MinHeight: 126, MaxHeight: 1250,
	MinRatio: 1.15, MaxRatio: 1.45}

// Codes of refused images (all 422, field "image").
const (
	CodeTypeUnsupported = "photo_type_unsupported"
	CodeTooLarge        = "photo_too_large"
	CodeBadDimensions   = "photo_bad_dimensions"
	CodeUnreadable      = "photo_unreadable"
)

// Refusal says why an image is not a card photo.
type Refusal struct {
	Code    string
	Message string
}

func (r *Refusal) Error() string { return r.Code + ": " + r.Message }

func refuse(code, format string, args ...any) *Refusal {
	return &Refusal{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Image is what Check learnt about an image.
type Image struct {
	ContentType   string
	Width, Height int
	Bytes         int
}

var (
	jpegMagic = []byte{0xFF, 0xD8, 0xFF}
	pngMagic  = []byte("\x89PNG\r\n\x1a\n")
)

// Check refuses data that is not a card photo by spec s. The type is taken
// from the magic bytes, never from a name or a header a client sent, and
// the dimensions from the image's own header.
func (s Spec) Check(data []byte) (Image, error) {
	var img Image
	switch {
	case bytes.HasPrefix(data, jpegMagic):
		img.ContentType = "image/jpeg"
	case bytes.HasPrefix(data, pngMagic):
		img.ContentType = "image/png"
	default:
		return img, refuse(CodeTypeUnsupported, "the image is neither JPEG nor PNG (by its first bytes)")
	}
	if len(data) > s.MaxBytes {
		return img, refuse(CodeTooLarge, "the image has %d bytes, at most %d allowed", len(data), s.MaxBytes)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || "image/"+format != img.ContentType {
		return img, refuse(CodeUnreadable, "the %s header cannot be read", img.ContentType)
	}
	img.Width, img.Height, img.Bytes = cfg.Width, cfg.Height, len(data)
	ratio := float64(cfg.Height) / float64(max(cfg.Width, 1))
	if cfg.Width < s.MinWidth || cfg.Width > s.MaxWidth || cfg.Height < s.MinHeight || cfg.Height > s.MaxHeight ||
		ratio < s.MinRatio || ratio > s.MaxRatio {
		return img, refuse(CodeBadDimensions, "the image is %d×%d px; a card photo is %d–%d px wide, %d–%d px high, "+
			"height/width %.2f–%.2f", cfg.Width, cfg.Height, s.MinWidth, s.MaxWidth, s.MinHeight, s.MaxHeight, s.MinRatio, s.MaxRatio)
	}
	return img, nil
}
