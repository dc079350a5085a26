package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/internal/devtools/seed"
)

// seedProgress shows the seeder's progress on stderr: a bar on a terminal,
// else a log line every few seconds.
func seedProgress(env *environment, log logrus.FieldLogger) seed.Progress {
	if env.isTerminal {
		return &barProgress{out: env.stderr}
	}
	return &logProgress{log: log, every: 5 * time.Second, what: "seed"}
}

// benchProgress is seedProgress for the load commands: their log lines
// say "bench" and come every 2 s (a run lasts seconds).
func benchProgress(env *environment, d *deps) seed.Progress {
	if env.isTerminal {
		return &barProgress{out: env.stderr}
	}
	return &logProgress{log: d.log, every: 2 * time.Second, what: "bench"}
}

type barProgress struct {
	out io.Writer
	bar *progressbar.ProgressBar
}

func (b *barProgress) Phase(name string, total int) {
	b.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(b.out), progressbar.OptionSetDescription(name),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(b.out) }))
}

func (b *barProgress) Add(n int) {
	if b.bar != nil {
		_ = b.bar.Add(n)
	}
}

func (b *barProgress) Finish() {
	if b.bar != nil {
		_ = b.bar.Finish()
	}
}

type logProgress struct {
	log   logrus.FieldLogger
	every time.Duration
	what  string // "seed", "bench": the log lines' prefix

	mu          sync.Mutex
	name        string
	total, done int
	started     time.Time
	last        time.Time
}

func (l *logProgress) Phase(name string, total int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.name, l.total, l.done = name, total, 0
	l.started, l.last = time.Now(), time.Now()
	l.log.WithField("total", total).Infof("%s: %s", l.what, name)
}

func (l *logProgress) Add(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done += n
	if time.Since(l.last) >= l.every {
		l.last = time.Now()
		l.log.WithFields(logrus.Fields{"done": l.done, "total": l.total}).Infof("%s: %s", l.what, l.name)
	}
}

func (l *logProgress) Finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log.WithFields(logrus.Fields{"done": l.done, "seconds": time.Since(l.started).Round(time.Millisecond).Seconds()}).
		Infof("%s: %s finished", l.what, l.name)
}
