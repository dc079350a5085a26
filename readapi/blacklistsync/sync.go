package blacklistsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// Syncer keeps the copy in Dir current with the server's feed.
type Syncer struct {
	Server string // base URL, e.g. http://127.0.0.1:8080
	APIKey string // a key of a client with the blacklist-consumer role
	Dir    string
	// Client is the HTTP client; nil uses one with a 60 s timeout (above
	// the 30 s long poll).
	Client *http.Client
	// Wait is the long-poll wait once caught up (30s).
	Wait time.Duration
	// PageLimit is the changes page size (10000).
	PageLimit int
	// SaveEvery bounds how long applied changes stay unsaved while paging
	// through a large backlog (10s); a caught-up copy is saved at once.
	SaveEvery time.Duration
	Log       logrus.FieldLogger
	// Progress, when set, is told after the snapshot, after each page of
	// changes applied and after each poll that finds the copy up to date;
	// the caller decides what to show (the library only logs at debug).
	Progress func(Progress)
	// Now is the clock for synced_at; nil is time.Now.
	Now func() time.Time
}

// Progress is where a sync stands.
type Progress struct {
	Snapshot bool  // a snapshot was just loaded and saved
	Applied  int   // changes applied from the last page
	Seq      int64 // position of the copy
	Entries  int   // cards listed in the copy
	UpToDate bool  // the last page was the feed's end
}

func (s *Syncer) report(p Progress) {
	if s.Progress != nil {
		s.Progress(p)
	}
}

func (s *Syncer) defaults() {
	if s.Client == nil {
		s.Client = &http.Client{Timeout: 60 * time.Second}
	}
	if s.Wait <= 0 {
		s.Wait = 30 * time.Second
	}
	if s.PageLimit <= 0 {
		s.PageLimit = 10000
	}
	if s.SaveEvery <= 0 {
		s.SaveEvery = 10 * time.Second
	}
	if s.Log == nil {
		s.Log = logrus.StandardLogger()
	}
	if s.Now == nil {
		s.Now = time.Now
	}
}

// Run syncs until ctx ends, retrying after errors; the local copy stays
// usable throughout. It returns ctx.Err().
func (s *Syncer) Run(ctx context.Context) error {
	s.defaults()
	for ctx.Err() == nil {
		err := s.follow(ctx, true)
		if ctx.Err() != nil {
			break
		}
		s.Log.WithError(err).Warn("blacklist sync: failed; retrying in 5s")
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
	}
	return ctx.Err()
}

// SyncOnce brings the copy up to date (snapshot if there is none, then
// every change so far) and returns.
func (s *Syncer) SyncOnce(ctx context.Context) (*Copy, error) {
	s.defaults()
	var out *Copy
	err := s.followWith(ctx, false, func(c *Copy) { out = c })
	return out, err
}

func (s *Syncer) follow(ctx context.Context, forever bool) error {
	return s.followWith(ctx, forever, nil)
}

func (s *Syncer) followWith(ctx context.Context, forever bool, done func(*Copy)) error {
	c, err := Load(s.Dir)
	if errors.Is(err, ErrNoCopy) {
		if c, err = s.snapshot(ctx); err != nil {
			return err
		}
		c.SyncedAt = s.Now()
		if err := c.Save(s.Dir); err != nil {
			return fmt.Errorf("save snapshot: %w", err)
		}
		s.Log.WithField("seq", c.Seq).WithField("entries", len(c.Entries)).Info("blacklist sync: snapshot saved")
		s.report(Progress{Snapshot: true, Seq: c.Seq, Entries: len(c.Entries)})
	} else if err != nil {
		return err
	}
	lastSave := time.Now()
	dirty := false
	for {
		wait := time.Duration(0)
		if forever && !dirty {
			wait = s.Wait
		}
		page, err := s.changes(ctx, c.Seq, wait)
		if err != nil {
			if dirty {
				// Keep what was applied; the saved seq says where to resume.
				if serr := c.Save(s.Dir); serr != nil {
					s.Log.WithError(serr).Error("blacklist sync: save failed")
				}
			}
			return err
		}
		for _, ch := range page.Changes {
			if ch.Seq <= c.Seq {
				return fmt.Errorf("feed went backwards: change %d after %d", ch.Seq, c.Seq)
			}
			switch ch.Op {
			case "add":
				c.Entries[ch.CardNo] = Entry{CardNo: ch.CardNo, Reason: ch.Reason, Since: ch.At}
			case "remove":
				delete(c.Entries, ch.CardNo)
			default:
				return fmt.Errorf("change %d: unknown op %q", ch.Seq, ch.Op)
			}
			c.Seq = ch.Seq
			dirty = true
		}
		c.SyncedAt = s.Now()
		caughtUp := len(page.Changes) < s.PageLimit
		if len(page.Changes) > 0 || caughtUp {
			s.report(Progress{Applied: len(page.Changes), Seq: c.Seq, Entries: len(c.Entries), UpToDate: caughtUp})
		}
		if dirty && (caughtUp || time.Since(lastSave) >= s.SaveEvery) {
			if err := c.Save(s.Dir); err != nil {
				return fmt.Errorf("save copy: %w", err)
			}
			s.Log.WithField("seq", c.Seq).WithField("entries", len(c.Entries)).Debug("blacklist sync: saved")
			dirty, lastSave = false, time.Now()
		}
		if caughtUp && !forever {
			if done != nil {
				done(c)
			}
			return nil
		}
		if caughtUp && time.Since(lastSave) > staleRefresh {
			// Refresh synced_at so readers see the copy is live.
			if err := c.Save(s.Dir); err != nil {
				return fmt.Errorf("save copy: %w", err)
			}
			lastSave = time.Now()
		}
	}
}

type changesPage struct {
	Changes []struct {
		Seq    int64     `json:"seq"`
		CardNo string    `json:"card_no"`
		Op     string    `json:"op"`
		Reason string    `json:"reason"`
		At     time.Time `json:"at"`
	} `json:"changes"`
	Next int64 `json:"next"`
}

func (s *Syncer) changes(ctx context.Context, after int64, wait time.Duration) (changesPage, error) {
	q := url.Values{}
	q.Set("after", strconv.FormatInt(after, 10))
	q.Set("limit", strconv.Itoa(s.PageLimit))
	if wait > 0 {
		q.Set("wait", wait.String())
	}
	var page changesPage
	err := s.get(ctx, "/v1/blacklist/changes?"+q.Encode(), func(r io.Reader) error {
		return json.NewDecoder(r).Decode(&page)
	})
	return page, err
}

func (s *Syncer) snapshot(ctx context.Context) (*Copy, error) {
	var snap struct {
		Seq     int64 `json:"seq"`
		Entries []struct {
			CardNo string    `json:"card_no"`
			Reason string    `json:"reason"`
			Since  time.Time `json:"since"`
		} `json:"entries"`
	}
	err := s.get(ctx, "/v1/blacklist/snapshot", func(r io.Reader) error {
		return json.NewDecoder(r).Decode(&snap)
	})
	if err != nil {
		return nil, err
	}
	c := &Copy{Seq: snap.Seq, Entries: make(map[string]Entry, len(snap.Entries))}
	for _, e := range snap.Entries {
		c.Entries[e.CardNo] = Entry{CardNo: e.CardNo, Reason: e.Reason, Since: e.Since}
	}
	return c, nil
}

func (s *Syncer) get(ctx context.Context, path string, decode func(io.Reader) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(s.Server, "/")+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.APIKey)
	req.Header.Set("Accept", "application/json")
	res, err := s.Client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 2048))
		return fmt.Errorf("GET %s: %s: %s", path, res.Status, strings.TrimSpace(string(body)))
	}
	if err := decode(res.Body); err != nil {
		return fmt.Errorf("GET %s: decode: %w", path, err)
	}
	return nil
}

// staleRefresh is how often a caught-up copy with no changes is rewritten
// just to move synced_at.
const staleRefresh = time.Minute
