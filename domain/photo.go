package domain

import (
	"strings"
)

// Photos (照片采集维护). A holder's photo is an image stored outside the
// event log, sealed under the person's data key (eventstore/piistore) and
// addressed by its content: PhotoRef is "sha256:" and the lower-case hex
// SHA-256 of the image bytes. PhotoCollected records that a photo was
// stored — taken at the counter or fetched from the police identity source
// — and makes it the holder's current photo; an application made at a
// counter, a bank or through a channel carries that photo (its photo_ref
// may be left out, or must name it). Applications of a batch file keep the
// file's free-text reference (the provincial photo store's), and events
// written before photos were stored keep theirs: both still replay.

// PhotoRefPrefix starts every content address of a stored photo.
const PhotoRefPrefix = "sha256:"

// PhotoSource says where a photo came from.
type PhotoSource string

const (
	PhotoFromCounter PhotoSource = "counter" // uploaded at the counter
	PhotoFromPolice  PhotoSource = "police"  // fetched from the identity source
)

// Photo describes a stored photo: its address and what the image is.
type Photo struct {
	Ref         string      `json:"photo_ref"`
	Source      PhotoSource `json:"source"`
	ContentType string      `json:"content_type"` // image/jpeg or image/png
	Width       int         `json:"width"`
	Height      int         `json:"height"`
	Bytes       int         `json:"bytes"`
}

// PhotoCollected: a photo of the holder was stored and is now the holder's
// current photo. photo_ref is sealed like every other photo reference.
type PhotoCollected struct {
	Photo
}

func (PhotoCollected) EventType() string { return "PhotoCollected" }

// CollectPhoto makes a stored photo the holder's current one.
type CollectPhoto struct {
	Photo Photo
}

func (CollectPhoto) CommandName() string { return "collect_photo" }
func (CollectPhoto) cardholderCommand()  {}

// Codes of photo decisions.
const (
	// CodePhotoNotCollected: a photo_ref that is not the holder's current
	// stored photo (a free-text reference, another photo) (KindConflict).
	CodePhotoNotCollected = "photo_not_collected"
)

// IsPhotoRef reports whether ref has the form of a stored photo's address.
func IsPhotoRef(ref string) bool {
	hex, ok := strings.CutPrefix(ref, PhotoRefPrefix)
	if !ok || len(hex) != 64 {
		return false
	}
	for i := range len(hex) {
		if c := hex[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// photoFields checks a photo's description; the image itself was checked
// where it was stored.
func photoFields(f *fieldErrors, p Photo) {
	if !IsPhotoRef(p.Ref) {
		f.add("photo_ref", CodeInvalidValue, "photo_ref must be sha256: and 64 lower-case hex digits")
	}
	if p.Source != PhotoFromCounter && p.Source != PhotoFromPolice {
		f.add("source", CodeInvalidValue, "source %q is not counter or police", p.Source)
	}
	if p.ContentType != "image/jpeg" && p.ContentType != "image/png" {
		f.add("content_type", CodeInvalidValue, "content_type %q is not image/jpeg or image/png", p.ContentType)
	}
	if p.Width <= 0 || p.Height <= 0 || p.Bytes <= 0 {
		f.add("photo", CodeInvalidValue, "width, height and bytes must be positive")
	}
}

func decideCollectPhoto(c *Cardholder, cmd CollectPhoto) ([]Event, error) {
	var f fieldErrors
	photoFields(&f, cmd.Photo)
	if err := f.err(); err != nil {
		return nil, err
	}
	if err := requireRegistered(c); err != nil {
		return nil, err
	}
	// An erased holder may be photographed again (a replacement card needs
	// a photo): the photo is sealed under a new key generation.
	if c.Photo != nil && c.Photo.Ref == cmd.Photo.Ref {
		return nil, nil // already the current photo: nothing new
	}
	return one(PhotoCollected{Photo: cmd.Photo})
}

// applicationPhoto is the photo reference a new application records: the
// holder's current photo when ref is empty; ref itself when it names that
// photo, or when the application comes from a batch file (whose free-text
// reference points into the provincial photo store). Anything else is
// photo_not_collected.
func applicationPhoto(c *Cardholder, source ApplicationSource, ref string) (string, error) {
	switch {
	case ref == "":
		if c.Photo != nil && c.Photo.Ref != ErasedMarker {
			return c.Photo.Ref, nil
		}
		return "", nil
	case c.Photo != nil && ref == c.Photo.Ref:
		return ref, nil
	case source == SourceBatch && !IsPhotoRef(ref):
		var f fieldErrors
		f.text("photo_ref", ref, maxTextLen)
		return ref, f.err()
	}
	return "", notCollected(c)
}

func notCollected(c *Cardholder) error {
	return Conflict(CodePhotoNotCollected, "photo_ref must be the current photo of cardholder %s "+
		"(POST /v1/cardholders/{id}/photo stores one), or be left out to use it", c.ID)
}

// currentPhotoRef is the holder's current photo for an application that
// names none (instant issuance, a channel's application).
func currentPhotoRef(c *Cardholder) string {
	ref, _ := applicationPhoto(c, "", "")
	return ref
}
