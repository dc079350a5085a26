// Package blacklistsync keeps an offline copy of the blacklist for outages
// (the tender: query the city system in real time, keep a local list for
// emergencies) and answers lookups from it without the server. It is a
// library: `cardledger blacklist sync|check` (cmd/cardledger) is its
// command line, and cardbridge reads the same file.
//
// Sync starts from GET /v1/blacklist/snapshot, then applies every page of
// GET /v1/blacklist/changes?after=<seq> in order (long-polling when caught
// up). The saved seq makes it resume after a restart exactly where it
// stopped; since the feed never skips or reorders a change, the copy equals
// the server's blacklist as of that seq.
//
// # Local file format (read by cardbridge too)
//
// DIR/blacklist.tsv, UTF-8, lines ending in "\n":
//
//	cardledger-blacklist v1
//	seq<TAB>1234
//	synced_at<TAB>2026-01-02T03:04:05Z
//	count<TAB>2
//	<empty line>
//	A12345678<TAB>lost<TAB>2026-01-01T08:00:00Z
//	B00000001<TAB>cancelled:replacement<TAB>2026-01-01T09:00:00Z
//
// The header is the magic line, then key<TAB>value lines up to an empty
// line (readers ignore keys they do not know). seq is the last change
// applied; synced_at is when the copy last heard from the server (a reader
// can judge staleness); count is the number of entries. Each entry is card
// number, reason (the card status: lost, temporarily_lost, or
// cancelled:<cause>) and since (RFC 3339, UTC), sorted by card number so a
// reader may binary-search. The file is replaced atomically (written to a
// temporary file in DIR, synced, renamed over it), so a reader sees either
// the old or the new copy, never a partial one.
package blacklistsync
