package ecard

import (
	"bytes"
	"crypto/ed25519"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestQRScansWithZbar decodes the PNG with Debian's zbarimg (zbar-tools,
// installed by scripts/services.sh), a decoder nobody here wrote, and
// checks that what it read is the code and that it verifies.
func TestQRScansWithZbar(t *testing.T) {
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("CARDLEDGER_REQUIRE_ZBAR") == "1" {
			t.Fatal("zbarimg missing: apt-get install zbar-tools (scripts/services.sh packages)")
		}
		t.Skip("zbarimg missing: apt-get install zbar-tools (scripts/services.sh packages)")
	}
	priv := testKey(0)
	keys := staticKeys{0x0a0b0c0d: priv.Public().(ed25519.PublicKey)}
	for _, ch := range []string{"rsapp", "abcdefghijklmnop"} {
		text := mustEncode(t, testClaims(ch), priv)
		q, err := NewQR(text)
		if err != nil {
			t.Fatal(err)
		}
		png, media, err := q.Image(FormatPNG)
		if err != nil || media != "image/png" || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("png: %v %s", err, media)
		}
		file := filepath.Join(t.TempDir(), "code.png")
		if err := os.WriteFile(file, png, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(zbar, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", file).Output()
		if err != nil {
			t.Fatalf("zbarimg: %v", err)
		}
		read := strings.TrimRight(string(out), "\n")
		if read != text {
			t.Fatalf("zbarimg read %q, want %q", read, text)
		}
		if _, err := Parse(read, keys, codeNow); err != nil {
			t.Fatalf("the scanned code does not verify: %v", err)
		}
	}
}

// TestSVGIsWellFormed: the SVG is one well-formed XML document drawing the
// symbol (zbarimg reads raster images only).
func TestSVGIsWellFormed(t *testing.T) {
	q, err := NewQR(mustEncode(t, testClaims("rsapp"), testKey(0)))
	if err != nil {
		t.Fatal(err)
	}
	svg, media, err := q.Image(FormatSVG)
	if err != nil || media != "image/svg+xml" {
		t.Fatalf("svg: %v %s", err, media)
	}
	var doc struct {
		XMLName xml.Name
		ViewBox string `xml:"viewBox,attr"`
	}
	if err := xml.Unmarshal(svg, &doc); err != nil || doc.XMLName.Local != "svg" {
		t.Fatalf("not an SVG document: %v (%s)", err, doc.XMLName.Local)
	}
	// 41 modules (version 6) and the 4-module quiet zone on each side.
	if want := "0 0 49 49"; doc.ViewBox != want {
		t.Fatalf("viewBox %q, want %q", doc.ViewBox, want)
	}
	if _, _, err := q.Image("gif"); err == nil {
		t.Fatal("gif accepted")
	}
}
