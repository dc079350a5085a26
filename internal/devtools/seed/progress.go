package seed

import (
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/sirupsen/logrus"
	"golang.org/x/term"
)

// Progress is told what the seeder is doing.
type Progress interface {
	// Phase starts a phase of total steps.
	Phase(name string, total int)
	// Add reports n more steps done.
	Add(n int)
	// Finish ends the current phase.
	Finish()
}

// NewProgress shows a progress bar when out is a terminal, else a log
// line every few seconds.
func NewProgress(out *os.File, log logrus.FieldLogger) Progress {
	if out != nil && term.IsTerminal(int(out.Fd())) {
		return &barProgress{out: out}
	}
	return &logProgress{log: log, every: 5 * time.Second}
}

type barProgress struct {
	out *os.File
	bar *progressbar.ProgressBar
}

func (b *barProgress) Phase(name string, total int) {
	b.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(b.out), progressbar.OptionSetDescription(name),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { b.out.WriteString("\n") }))
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
	l.log.WithField("total", total).Infof("seed: %s", name)
}

func (l *logProgress) Add(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done += n
	if time.Since(l.last) >= l.every {
		l.last = time.Now()
		l.log.WithFields(logrus.Fields{"done": l.done, "total": l.total}).Infof("seed: %s", l.name)
	}
}

func (l *logProgress) Finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log.WithFields(logrus.Fields{"done": l.done, "seconds": time.Since(l.started).Round(time.Millisecond).Seconds()}).
		Infof("seed: %s finished", l.name)
}

// NoProgress reports nothing.
type NoProgress struct{}

func (NoProgress) Phase(string, int) {}
func (NoProgress) Add(int)           {}
func (NoProgress) Finish()           {}
