// Package phototest makes images for tests of photo upload and storage.
package phototest

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
)

// JPEG is a w×h JPEG whose pixels depend on seed (different seeds,
// different bytes).
func JPEG(w, h int, seed byte) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, picture(w, h, seed), &jpeg.Options{Quality: 80}); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// PNG is JPEG's picture as PNG.
func PNG(w, h int, seed byte) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, picture(w, h, seed)); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func picture(w, h int, seed byte) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: byte(x) ^ seed, G: byte(y) + seed, B: byte(x*y) ^ seed, A: 255})
		}
	}
	return img
}
