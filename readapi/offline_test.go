package readapi_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/readapi/blacklistsync"
)

// pathRecorder remembers the paths a client requested.
type pathRecorder struct {
	mu    sync.Mutex
	paths []string
}

func (p *pathRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	p.mu.Lock()
	p.paths = append(p.paths, r.URL.Path)
	p.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (p *pathRecorder) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.paths
	p.paths = nil
	return out
}

func copyStatuses(c *blacklistsync.Copy) map[string]string {
	out := map[string]string{}
	for card, e := range c.Entries {
		status, _, _ := strings.Cut(e.Reason, ":")
		out[card] = status
	}
	return out
}

func TestOfflineCopySyncsResumesAndAnswersWithoutTheServer(t *testing.T) {
	h := newHarness(t)
	h.seed(20, seed.HistoryOptions{})
	h.run()
	h.caughtUp()
	dir := t.TempDir()
	rec := &pathRecorder{}
	s := &blacklistsync.Syncer{Server: h.srv.URL, APIKey: keyConsumer, Dir: dir, Log: h.log,
		Client: &http.Client{Transport: rec, Timeout: 10 * time.Second}, Wait: time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	c, err := s.SyncOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, h.expectedBlacklist(), copyStatuses(c))
	require.Equal(t, "/v1/blacklist/snapshot", rec.take()[0])

	// Changes after the first sync; a new syncer (a restart) resumes from
	// the saved seq without another snapshot.
	stream1, _ := seed.Lifecycle(seed.HistoryKey, 1, false)
	stream5, _ := seed.Lifecycle(seed.HistoryKey, 5, false)
	h.appendEvents(stream1, domain.CardUnlocked{CardNo: "B00000001", Lifted: domain.StatusLost})
	h.appendEvents(stream5, domain.CardReportedLost{CardNo: "B00000005"})
	h.caughtUp()
	restarted := *s
	c, err = restarted.SyncOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, h.expectedBlacklist(), copyStatuses(c))
	for _, p := range rec.take() {
		require.Equal(t, "/v1/blacklist/changes", p)
	}

	// Answers come from the file alone.
	h.srv.Close()
	e, listed, _, err := blacklistsync.Check(dir, "B00000005")
	require.NoError(t, err)
	require.True(t, listed)
	require.Equal(t, "lost", e.Reason)
	_, listed, _, err = blacklistsync.Check(dir, "B00000001")
	require.NoError(t, err)
	require.False(t, listed)

	// The file is the documented format, and no temporary file is left.
	data, err := os.ReadFile(filepath.Join(dir, blacklistsync.FileName))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(data), "cardledger-blacklist v1\nseq\t"))
	require.Contains(t, string(data), "\nB00000005\tlost\t")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
}

func TestOfflineCopyFollowsTheFeedLive(t *testing.T) {
	h := newHarness(t)
	h.seed(3, seed.HistoryOptions{})
	h.run()
	h.caughtUp()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s := &blacklistsync.Syncer{Server: h.srv.URL, APIKey: keyConsumer, Dir: dir, Log: h.log, Wait: 5 * time.Second}
		_ = s.Run(ctx)
	}()
	defer func() { cancel(); <-done }()

	stream, _ := seed.Lifecycle(seed.HistoryKey, 0, false)
	h.appendEvents(stream, domain.CardReportedLost{CardNo: "B00000000"})
	deadline := time.Now().Add(10 * time.Second)
	for {
		e, listed, _, err := blacklistsync.Check(dir, "B00000000")
		if err == nil && listed {
			require.Equal(t, "lost", e.Reason)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("local copy did not list the lost card within 10s (err %v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
