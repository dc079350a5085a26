package ecard

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// KeysFileName is the offline copy of the published keys, kept in the same
// directory as the offline blacklist copy (readapi/blacklistsync.FileName)
// by `cardledger ecard keys fetch --dir DIR`, read by `cardledger ecard
// verify` and cardbridge.
const KeysFileName = "ecard-keys.json"

// keysFileFormat names the file's layout (its "format" field).
const keysFileFormat = "cardledger-ecard-keys v1"

// ErrNoKeysFile: the directory holds no keys file yet (fetch first).
var ErrNoKeysFile = errors.New("no offline e-card keys")

// KeysFile is GET /v1/ecard/keys as fetched: the keys and when they were
// fetched (by the fetching machine's clock), so a reader can judge its age.
type KeysFile struct {
	Format    string    `json:"format"`
	Server    string    `json:"server"`
	FetchedAt time.Time `json:"fetched_at"`
	Keys      []KeyView `json:"keys"`

	pub *PublishedKeys
	ids map[KeyID]bool
}

// FetchKeys reads GET /v1/ecard/keys from server (public: no key).
func FetchKeys(ctx context.Context, client *http.Client, server string, now time.Time) (*KeysFile, error) {
	server = strings.TrimRight(server, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, server+"/v1/ecard/keys", nil)
	if err != nil {
		return nil, fmt.Errorf("ecard: fetch keys: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ecard: fetch keys: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("ecard: fetch keys: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ecard: fetch keys: GET /v1/ecard/keys answered %s", res.Status)
	}
	var kr KeysResponse
	if err := json.Unmarshal(body, &kr); err != nil {
		return nil, fmt.Errorf("ecard: fetch keys: unreadable answer: %w", err)
	}
	f := &KeysFile{Format: keysFileFormat, Server: server, FetchedAt: now.UTC(), Keys: kr.Keys}
	if err := f.index(); err != nil {
		return nil, fmt.Errorf("ecard: fetch keys: %w", err)
	}
	if len(f.Keys) == 0 {
		return nil, errors.New("ecard: fetch keys: the server published no key")
	}
	return f, nil
}

// index checks every key (ParsePublishedKeys) and notes their ids.
func (f *KeysFile) index() error {
	pub, err := ParsePublishedKeys(KeysResponse{Keys: f.Keys})
	if err != nil {
		return err
	}
	f.pub, f.ids = pub, make(map[KeyID]bool, len(f.Keys))
	for _, k := range f.Keys {
		id, _ := ParseKeyID(k.KID) // parsed above
		f.ids[id] = true
	}
	return nil
}

// PublicKey makes the file a PublicKeys: a key verifies at now from its
// not_before until its not_after, as on the server.
func (f *KeysFile) PublicKey(id KeyID, now time.Time) (ed25519.PublicKey, bool) {
	return f.pub.PublicKey(id, now)
}

// Has reports whether the file lists key id at all (accepted or not).
func (f *KeysFile) Has(id KeyID) bool { return f.ids[id] }

// Save writes the file atomically into dir (a temporary file synced and
// renamed over it), as the blacklist copy is written: a reader sees the
// old keys or the new ones.
func (f *KeysFile) Save(dir string) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+KeysFileName+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, KeysFileName))
}

// LoadKeysFile reads DIR/ecard-keys.json; ErrNoKeysFile when there is none.
func LoadKeysFile(dir string) (*KeysFile, error) {
	b, err := os.ReadFile(filepath.Join(dir, KeysFileName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s (run `cardledger ecard keys fetch --dir %s`)", ErrNoKeysFile, dir, dir)
	}
	if err != nil {
		return nil, err
	}
	var f KeysFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("read %s: %w", KeysFileName, err)
	}
	if f.Format != keysFileFormat {
		return nil, fmt.Errorf("read %s: format %q, want %q", KeysFileName, f.Format, keysFileFormat)
	}
	if err := f.index(); err != nil {
		return nil, fmt.Errorf("read %s: %w", KeysFileName, err)
	}
	return &f, nil
}
