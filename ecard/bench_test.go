package ecard

import (
	"crypto/ed25519"
	"testing"
)

// BenchmarkEncodeParse: sign and strictly parse one code (no I/O).
func BenchmarkEncodeParse(b *testing.B) {
	priv := testKey(0)
	keys := staticKeys{0x0a0b0c0d: priv.Public().(ed25519.PublicKey)}
	c := testClaims("rsapp")
	for b.Loop() {
		text, err := Encode(c, priv)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Parse(text, keys, codeNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQRImage: draw one code's QR symbol as PNG and as SVG.
func BenchmarkQRImage(b *testing.B) {
	text := mustEncode(b, testClaims("rsapp"), testKey(0))
	for _, format := range []string{FormatPNG, FormatSVG} {
		b.Run(format, func(b *testing.B) {
			for b.Loop() {
				q, err := NewQR(text)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := q.Image(format); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
