package ecard

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"sync"

	qr "github.com/piglig/go-qr"
)

// Image formats of a code's QR picture.
const (
	FormatPNG = "png"
	FormatSVG = "svg"
)

// QR drawing: level M (15 % of codewords recoverable: a screen with glare
// or a cracked phone still scans) and never boosted, so the version is what
// the payload needs at M; the standard's 4-module quiet zone; 6 pixels a
// module (a version 7 code is 45 modules: 318 px with its margin).
const (
	qrScale  = 6
	qrBorder = 4
	// MaxQRVersion is the largest version a code may need at level M
	// (tested for the longest channel code).
	MaxQRVersion = 7
)

// QRCode is a code drawn as a QR symbol.
type QRCode struct {
	sym *qr.QrCode
}

// NewQR draws text, a code, in QR alphanumeric mode at level M.
func NewQR(text string) (*QRCode, error) {
	seg, err := qr.MakeAlphanumeric(text)
	if err != nil {
		return nil, fmt.Errorf("ecard: qr: %w", err)
	}
	sym, err := qr.EncodeSegments([]*qr.QrSegment{seg}, qr.Medium, qr.MinVersion, MaxQRVersion, -1, false)
	if err != nil {
		return nil, fmt.Errorf("ecard: qr: %w", err)
	}
	return &QRCode{sym: sym}, nil
}

// Version is the symbol's QR version (1..40; 21 + 4·(v-1) modules a side).
func (q *QRCode) Version() int { return (q.sym.Size() - 17) / 4 }

// Image renders the symbol as format (FormatPNG or FormatSVG) and returns
// the bytes and their media type.
func (q *QRCode) Image(format string) ([]byte, string, error) {
	switch format {
	case FormatPNG:
		b, err := q.png()
		if err != nil {
			return nil, "", fmt.Errorf("ecard: qr png: %w", err)
		}
		return b, "image/png", nil
	case FormatSVG:
		// The SVG renderer counts the border in user units, not modules
		// (the PNG one in modules): at scale 1 a unit is a module, so the
		// viewBox is the symbol plus its 4-module quiet zone; SVG scales.
		b, err := q.sym.ToSVGBytes(qr.NewQrCodeImgConfig(1, qrBorder, qr.WithOptimalSVG()))
		if err != nil {
			return nil, "", fmt.Errorf("ecard: qr svg: %w", err)
		}
		return b, "image/svg+xml", nil
	}
	return nil, "", errors.New("ecard: qr: format must be png or svg")
}

// png rasterises the library's symbol as a two-colour paletted image (a
// 1-bit PNG of about 1 KB): the library's own PNG writer sets every pixel
// through image/color interfaces into an RGBA image, ~25 ms a code, which
// would dominate issuance.
func (q *QRCode) png() ([]byte, error) {
	n := q.sym.Size()
	side := (n + 2*qrBorder) * qrScale
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	for y := range n {
		for x := range n {
			if !q.sym.Module(x, y) {
				continue
			}
			x0, y0 := (x+qrBorder)*qrScale, (y+qrBorder)*qrScale
			for dy := range qrScale {
				row := img.Pix[(y0+dy)*img.Stride+x0:]
				for dx := range qrScale {
					row[dx] = 1
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := pngEncoder.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// pngEncoder reuses its compressor between images (a deflate state is
// about a megabyte to allocate and clear).
var pngEncoder = png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &pngBuffers{}}

type pngBuffers struct{ p sync.Pool }

func (b *pngBuffers) Get() *png.EncoderBuffer {
	if v, ok := b.p.Get().(*png.EncoderBuffer); ok {
		return v
	}
	return nil
}

func (b *pngBuffers) Put(v *png.EncoderBuffer) { b.p.Put(v) }
