package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/cardledger/cardledger/readapi/blacklistsync"
)

// Exit statuses of `blacklist check`, for scripts at the counter. A broken
// command line also exits 2 (usage).
const (
	exitNotListed = 0
	exitCheckFail = 2
	exitListed    = 3
)

// runBlacklist: the offline blacklist copy, which works against a remote
// server (CARDLEDGER_SERVER_URL, CARDLEDGER_API_KEY) and needs no database.
//
//	blacklist sync --dir DIR [--once]
//	blacklist check --dir DIR CARD_NO
func runBlacklist(ctx context.Context, env *environment, args []string) error {
	v, rest := verb(args)
	fs := flag.NewFlagSet("blacklist "+v, flag.ContinueOnError)
	dir := fs.String("dir", "", "directory of the local copy (required)")
	switch v {
	case "sync":
		once := fs.Bool("once", false, "bring the copy up to date and exit instead of following the feed")
		d, err := parseConfig(env, fs, rest)
		if err != nil {
			return err
		}
		if *dir == "" || d.cfg.APIKey == "" {
			return usagef("--dir and --api-key (or CARDLEDGER_API_KEY) are required")
		}
		s := &blacklistsync.Syncer{Server: d.cfg.ServerURL, APIKey: d.cfg.APIKey, Dir: *dir, Log: d.log}
		if !*once {
			s.Progress = syncProgress(env, time.Now)
			return s.Run(ctx) // until interrupted: context.Canceled exits 130
		}
		c, err := s.SyncOnce(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "synced: seq %d, %d listed cards\n", c.Seq, len(c.Entries))
		return nil
	case "check":
		if _, err := parseConfig(env, fs, rest); err != nil {
			return err
		}
		if *dir == "" || fs.NArg() != 1 {
			return usagef("usage: blacklist check --dir DIR CARD_NO")
		}
		cardNo := fs.Arg(0)
		e, listed, c, err := blacklistsync.Check(*dir, cardNo)
		if err != nil {
			fmt.Fprintf(env.stderr, "cardledger blacklist check: %v\n", err)
			return exitCode(exitCheckFail)
		}
		asOf := fmt.Sprintf("local copy at seq %d, synced %s", c.Seq, c.SyncedAt.UTC().Format(time.RFC3339))
		if listed {
			fmt.Fprintf(env.stdout, "%s LISTED reason=%s since=%s (%s)\n", cardNo, e.Reason, e.Since.UTC().Format(time.RFC3339), asOf)
			return exitCode(exitListed)
		}
		fmt.Fprintf(env.stdout, "%s not listed (%s)\n", cardNo, asOf)
		return nil
	}
	return usagef("want `blacklist sync --dir DIR [--once]` or `blacklist check --dir DIR CARD_NO`")
}

// upToDateEvery is how often a following sync that has nothing new says
// it is still up to date.
const upToDateEvery = 5 * time.Minute

// syncProgress prints a following sync's progress on stderr: each page of
// changes applied, and "up to date" once caught up, then again only after
// new changes or every upToDateEvery, so an idle feed is not a flood.
func syncProgress(env *environment, now func() time.Time) func(blacklistsync.Progress) {
	var said time.Time
	news := true
	return func(p blacklistsync.Progress) {
		switch {
		case p.Snapshot:
			fmt.Fprintf(env.stderr, "blacklist sync: snapshot at seq %d, %d listed cards\n", p.Seq, p.Entries)
			news = true
		case p.Applied > 0:
			fmt.Fprintf(env.stderr, "blacklist sync: applied %d changes, at seq %d, %d listed cards\n", p.Applied, p.Seq, p.Entries)
			news = true
		}
		if p.UpToDate && (news || now().Sub(said) >= upToDateEvery) {
			said, news = now(), false
			fmt.Fprintf(env.stderr, "blacklist sync: up to date at seq %d (%d listed cards) at %s; following\n", p.Seq, p.Entries, said.UTC().Format(time.RFC3339))
		}
	}
}
