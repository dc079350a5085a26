package blacklistsync

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FileName is the local copy inside the sync directory.
const FileName = "blacklist.tsv"

const magic = "cardledger-blacklist v1"

// ErrNoCopy: the directory holds no local copy yet (run sync first).
var ErrNoCopy = errors.New("no local blacklist copy")

// Entry is one listed card.
type Entry struct {
	CardNo string
	Reason string
	Since  time.Time
}

// Copy is the local blacklist as of change Seq.
type Copy struct {
	Seq      int64
	SyncedAt time.Time
	Entries  map[string]Entry // by card number
}

// Load reads DIR/blacklist.tsv; ErrNoCopy when there is none.
func Load(dir string) (*Copy, error) {
	f, err := os.Open(filepath.Join(dir, FileName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s", ErrNoCopy, dir)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := read(bufio.NewReaderSize(f, 1<<16))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	return c, nil
}

func read(r *bufio.Reader) (*Copy, error) {
	c := &Copy{Entries: map[string]Entry{}}
	line, err := r.ReadString('\n')
	if err != nil || strings.TrimSuffix(line, "\n") != magic {
		return nil, fmt.Errorf("not a %q file", magic)
	}
	count := -1
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("header: %w", err)
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			break
		}
		k, v, _ := strings.Cut(line, "\t")
		switch k {
		case "seq":
			if c.Seq, err = strconv.ParseInt(v, 10, 64); err != nil {
				return nil, fmt.Errorf("header seq: %w", err)
			}
		case "synced_at":
			if c.SyncedAt, err = time.Parse(time.RFC3339Nano, v); err != nil {
				return nil, fmt.Errorf("header synced_at: %w", err)
			}
		case "count":
			if count, err = strconv.Atoi(v); err != nil {
				return nil, fmt.Errorf("header count: %w", err)
			}
		}
	}
	for {
		line, err := r.ReadString('\n')
		if errors.Is(err, io.EOF) && line == "" {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("entry: %w (truncated file?)", err)
		}
		parts := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		if len(parts) < 3 {
			return nil, fmt.Errorf("entry %q: want card, reason, since", line)
		}
		since, err := time.Parse(time.RFC3339Nano, parts[2])
		if err != nil {
			return nil, fmt.Errorf("entry %s: %w", parts[0], err)
		}
		c.Entries[parts[0]] = Entry{CardNo: parts[0], Reason: parts[1], Since: since}
	}
	if count >= 0 && count != len(c.Entries) {
		return nil, fmt.Errorf("header says %d entries, file has %d", count, len(c.Entries))
	}
	return c, nil
}

// Save writes the copy atomically: a temporary file in dir, synced, then
// renamed over DIR/blacklist.tsv, and the directory synced.
func (c *Copy) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+FileName+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	w := bufio.NewWriterSize(tmp, 1<<16)
	fmt.Fprintf(w, "%s\nseq\t%d\nsynced_at\t%s\ncount\t%d\n\n", magic, c.Seq,
		c.SyncedAt.UTC().Format(time.RFC3339Nano), len(c.Entries))
	keys := make([]string, 0, len(c.Entries))
	for k := range c.Entries {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		e := c.Entries[k]
		fmt.Fprintf(w, "%s\t%s\t%s\n", e.CardNo, e.Reason, e.Since.UTC().Format(time.RFC3339Nano))
	}
	if err := w.Flush(); err != nil {
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
	if err := os.Rename(tmp.Name(), filepath.Join(dir, FileName)); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Check looks a card up in the local copy in dir.
func Check(dir, cardNo string) (e Entry, listed bool, c *Copy, err error) {
	c, err = Load(dir)
	if err != nil {
		return Entry{}, false, nil, err
	}
	e, listed = c.Entries[cardNo]
	return e, listed, c, nil
}
