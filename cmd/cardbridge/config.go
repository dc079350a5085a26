package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/cardledger/cardledger/domain"
)

// Config is the agent's configuration: every flag has a CARDBRIDGE_*
// variable; the flag wins.
type Config struct {
	Reader      string // exact PC/SC reader name
	ListReaders bool   // print the reader names and exit
	Server      string // cardledger base URL; empty: offline copy only
	Key         string // API key (counter, or blacklist-consumer: then card status is not checked)
	// TerminalKey is a terminal client's key: e-card codes sent to
	// POST /verify-code are verified on the server with it first; without
	// it they are checked offline only.
	TerminalKey  string
	BlacklistDir string // offline copy kept by `cardledger blacklist sync --dir`; empty: none
	Listen       string // the local endpoint for the counter application; "off" disables it
	// LatestHolder is "full" (the counter application sees the holder's
	// name and ID number on /latest) or "masked" (as on stdout).
	LatestHolder string
	ReportUsage  bool   // report an identity_auth usage record for accepted cards
	RegionCode   string // region of this counter, for usage records
	Merchant     string // who reports, for usage records (e.g. the service hall)

	ReadTimeout   time.Duration // one card read (a hung card blocks PC/SC otherwise)
	ServerTimeout time.Duration // the status and blacklist lookups together
	UsageTimeout  time.Duration // one usage report
	ReaderPoll    time.Duration // how often to look for a missing reader
	// OfflineMaxAge: a card missing from an offline copy older than this
	// gets "unknown" rather than "accepted" (0: no limit). A card on the
	// copy is refused whatever its age.
	OfflineMaxAge time.Duration
}

// parseConfig reads flags from args over CARDBRIDGE_* variables and checks
// the result.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("cardbridge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	var envErrs []error
	duration := func(p *time.Duration, name, envName string, def time.Duration, usage string) {
		if v := getenv(envName); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				envErrs = append(envErrs, fmt.Errorf("%s: %w", envName, err))
			} else {
				def = d
			}
		}
		fs.DurationVar(p, name, def, usage+" ($"+envName+")")
	}
	boolean := func(p *bool, name, envName string, usage string) {
		def := false
		if v := getenv(envName); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				envErrs = append(envErrs, fmt.Errorf("%s: want true or false, got %q", envName, v))
			}
			def = b
		}
		fs.BoolVar(p, name, def, usage+" ($"+envName+")")
	}
	var c Config
	fs.StringVar(&c.Reader, "reader", env("CARDBRIDGE_READER", ""), "exact PC/SC reader name, see --list-readers ($CARDBRIDGE_READER)")
	fs.BoolVar(&c.ListReaders, "list-readers", false, "print the PC/SC reader names and exit")
	fs.StringVar(&c.Server, "server", env("CARDBRIDGE_SERVER", ""), "cardledger base URL, e.g. https://cardledger.example:8080 ($CARDBRIDGE_SERVER)")
	fs.StringVar(&c.Key, "key", env("CARDBRIDGE_KEY", ""), "API key of a counter or blacklist-consumer client ($CARDBRIDGE_KEY)")
	fs.StringVar(&c.TerminalKey, "terminal-key", env("CARDBRIDGE_TERMINAL_KEY", ""), "API key of a terminal client, for e-card codes sent to POST /verify-code ($CARDBRIDGE_TERMINAL_KEY)")
	fs.StringVar(&c.BlacklistDir, "blacklist-dir", env("CARDBRIDGE_BLACKLIST_DIR", ""), "directory of the offline blacklist copy kept by \"cardledger blacklist sync\" and of the e-card keys kept by \"cardledger ecard keys fetch\" ($CARDBRIDGE_BLACKLIST_DIR)")
	fs.StringVar(&c.Listen, "listen", env("CARDBRIDGE_LISTEN", "127.0.0.1:8765"), "address of GET /latest and /healthz for the counter application, or off ($CARDBRIDGE_LISTEN)")
	fs.StringVar(&c.LatestHolder, "latest-holder", env("CARDBRIDGE_LATEST_HOLDER", "full"), "holder name and ID number on /latest: full or masked ($CARDBRIDGE_LATEST_HOLDER)")
	boolean(&c.ReportUsage, "report-usage", "CARDBRIDGE_REPORT_USAGE", "report an identity_auth usage record for each accepted card (needs a counter key)")
	fs.StringVar(&c.RegionCode, "region-code", env("CARDBRIDGE_REGION_CODE", ""), "GB/T 2260 code of this counter's region, for usage records ($CARDBRIDGE_REGION_CODE)")
	fs.StringVar(&c.Merchant, "merchant", env("CARDBRIDGE_MERCHANT", "cardbridge"), "name of this counter in usage records ($CARDBRIDGE_MERCHANT)")
	duration(&c.ReadTimeout, "read-timeout", "CARDBRIDGE_READ_TIMEOUT", 5*time.Second, "deadline of one card read")
	duration(&c.ServerTimeout, "server-timeout", "CARDBRIDGE_SERVER_TIMEOUT", 2*time.Second, "deadline of the server check (status and blacklist)")
	duration(&c.UsageTimeout, "usage-timeout", "CARDBRIDGE_USAGE_TIMEOUT", 5*time.Second, "deadline of one usage report")
	duration(&c.ReaderPoll, "reader-poll", "CARDBRIDGE_READER_POLL", time.Second, "how often to look for a missing reader")
	duration(&c.OfflineMaxAge, "offline-max-age", "CARDBRIDGE_OFFLINE_MAX_AGE", 7*24*time.Hour, "oldest offline copy that may accept a card (0: any)")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := errors.Join(envErrs...); err != nil {
		return Config{}, err
	}
	return c, c.check()
}

// check refuses configurations that cannot give a safe answer.
func (c Config) check() error {
	if c.ListReaders {
		return nil
	}
	if c.Reader == "" {
		return errors.New("--reader / CARDBRIDGE_READER is required (see --list-readers)")
	}
	if c.Server == "" && c.BlacklistDir == "" {
		return errors.New("give --server / CARDBRIDGE_SERVER or --blacklist-dir / CARDBRIDGE_BLACKLIST_DIR (or both): nothing to check cards against")
	}
	if c.Server != "" {
		u, err := url.Parse(c.Server)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--server / CARDBRIDGE_SERVER: want an http(s) URL, got %q", c.Server)
		}
		if c.Key == "" {
			return errors.New("--key / CARDBRIDGE_KEY is required with a server")
		}
	}
	if c.LatestHolder != "full" && c.LatestHolder != "masked" {
		return fmt.Errorf("--latest-holder / CARDBRIDGE_LATEST_HOLDER: want full or masked, got %q", c.LatestHolder)
	}
	if c.Listen != "off" {
		host, _, err := net.SplitHostPort(c.Listen)
		if err != nil {
			return fmt.Errorf("--listen / CARDBRIDGE_LISTEN: %w", err)
		}
		// /latest shows personal data in full mode: only to this machine.
		if ip := net.ParseIP(host); c.LatestHolder == "full" && host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("--listen %s is not a loopback address: /latest would serve holder data to the network; use 127.0.0.1 or --latest-holder masked", c.Listen)
		}
	}
	if c.ReportUsage {
		if c.Server == "" {
			return errors.New("--report-usage needs --server")
		}
		if err := domain.ValidateRegionCode(c.RegionCode); err != nil {
			return fmt.Errorf("--report-usage needs --region-code / CARDBRIDGE_REGION_CODE: %w", err)
		}
	}
	for name, d := range map[string]time.Duration{"read-timeout": c.ReadTimeout, "server-timeout": c.ServerTimeout,
		"usage-timeout": c.UsageTimeout, "reader-poll": c.ReaderPoll} {
		if d <= 0 {
			return fmt.Errorf("--%s must be positive", name)
		}
	}
	if c.OfflineMaxAge < 0 {
		return errors.New("--offline-max-age must not be negative")
	}
	return nil
}
