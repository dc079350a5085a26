package blacklistsync

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCopyRoundTripsThroughTheDocumentedFile(t *testing.T) {
	dir := t.TempDir()
	since := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	c := &Copy{Seq: 42, SyncedAt: since.Add(time.Hour), Entries: map[string]Entry{
		"B00000001": {CardNo: "B00000001", Reason: "cancelled:replacement", Since: since},
		"A12345678": {CardNo: "A12345678", Reason: "lost", Since: since},
	}}
	require.NoError(t, c.Save(dir))
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	require.NoError(t, err)
	require.Equal(t, "cardledger-blacklist v1\nseq\t42\nsynced_at\t2026-01-01T09:00:00Z\ncount\t2\n\n"+
		"A12345678\tlost\t2026-01-01T08:00:00Z\nB00000001\tcancelled:replacement\t2026-01-01T08:00:00Z\n", string(data))
	back, err := Load(dir)
	require.NoError(t, err)
	require.Equal(t, c.Seq, back.Seq)
	require.Equal(t, c.Entries, back.Entries)
}

func TestLoadRefusesDamagedCopies(t *testing.T) {
	cases := map[string]string{
		"not ours":  "hello\n",
		"truncated": "cardledger-blacklist v1\nseq\t1\ncount\t2\n\nA12345678\tlost\t2026-01-01T08:00:00Z\n",
		"bad line":  "cardledger-blacklist v1\nseq\t1\n\nA12345678 lost\n",
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, FileName), []byte(content), 0o644))
			_, err := Load(dir)
			require.Error(t, err)
		})
	}
	_, err := Load(t.TempDir())
	require.True(t, errors.Is(err, ErrNoCopy))
}
