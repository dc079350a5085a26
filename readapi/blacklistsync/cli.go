package blacklistsync

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sirupsen/logrus"
)

// Exit codes of `blacklist check`, for scripts at the counter.
const (
	ExitNotListed = 0
	ExitError     = 2
	ExitListed    = 3
)

// Main runs `blacklist sync ...` or `blacklist check ...` (args start
// after "blacklist") and returns the process exit code.
//
//	blacklist sync --dir DIR [--server URL] [--key KEY] [--once]
//	blacklist check --dir DIR CARD_NO
//
// --server defaults to $CARDLEDGER_SERVER_URL or http://127.0.0.1:8080;
// --key to $CARDLEDGER_API_KEY (a blacklist-consumer key).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, log logrus.FieldLogger) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: blacklist sync --dir DIR [--server URL] [--key KEY] [--once] | blacklist check --dir DIR CARD_NO")
		return ExitError
	}
	switch args[0] {
	case "sync":
		return syncMain(ctx, args[1:], stdout, stderr, log)
	case "check":
		return checkMain(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "blacklist: unknown subcommand %q (want sync or check)\n", args[0])
	return ExitError
}

func syncMain(ctx context.Context, args []string, stdout, stderr io.Writer, log logrus.FieldLogger) int {
	fs := flag.NewFlagSet("blacklist sync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "directory of the local copy (required)")
	server := fs.String("server", envOr("CARDLEDGER_SERVER_URL", "http://127.0.0.1:8080"), "cardledger base URL")
	key := fs.String("key", os.Getenv("CARDLEDGER_API_KEY"), "API key of a blacklist-consumer client")
	once := fs.Bool("once", false, "bring the copy up to date and exit instead of following the feed")
	if err := fs.Parse(args); err != nil {
		return ExitError
	}
	if *dir == "" || *key == "" {
		fmt.Fprintln(stderr, "blacklist sync: --dir and --key (or CARDLEDGER_API_KEY) are required")
		return ExitError
	}
	s := &Syncer{Server: *server, APIKey: *key, Dir: *dir, Log: log}
	if *once {
		c, err := s.SyncOnce(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "blacklist sync: %v\n", err)
			return ExitError
		}
		fmt.Fprintf(stdout, "synced: seq %d, %d listed cards\n", c.Seq, len(c.Entries))
		return 0
	}
	if err := s.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "blacklist sync: %v\n", err)
		return ExitError
	}
	return 0
}

func checkMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("blacklist check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "directory of the local copy (required)")
	if err := fs.Parse(args); err != nil {
		return ExitError
	}
	if *dir == "" || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: blacklist check --dir DIR CARD_NO")
		return ExitError
	}
	cardNo := fs.Arg(0)
	e, listed, c, err := Check(*dir, cardNo)
	if err != nil {
		fmt.Fprintf(stderr, "blacklist check: %v\n", err)
		return ExitError
	}
	asOf := fmt.Sprintf("local copy at seq %d, synced %s", c.Seq, c.SyncedAt.UTC().Format(time.RFC3339))
	if listed {
		fmt.Fprintf(stdout, "%s LISTED reason=%s since=%s (%s)\n", cardNo, e.Reason, e.Since.UTC().Format(time.RFC3339), asOf)
		return ExitListed
	}
	fmt.Fprintf(stdout, "%s not listed (%s)\n", cardNo, asOf)
	return ExitNotListed
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
