package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cardledger/cardledger/hwbridge/pcsctest"
	"github.com/cardledger/cardledger/readapi/blacklistsync"
)

// answer is a decision without its timings and provenance details, for
// exact comparison.
func answer(l logged) Decision {
	d := *l.Decision
	d.CheckMS, d.TotalMS, d.OfflineSeq, d.OfflineSyncedAt, d.ServerError = 0, 0, 0, nil, ""
	return d
}

// reinsert pulls the card out and puts it back, and returns the agent's
// decision on it.
func (a *runningAgent) reinsert(t *testing.T, e *pcsctest.Emulator) logged {
	t.Helper()
	e.Toggle(t)
	a.out.next(t, 5*time.Second, is(evCardRemoved))
	e.Toggle(t)
	return a.out.next(t, 10*time.Second, is(evDecision))
}

// The agent answers from the server while it is up and from the offline
// copy while it is down; a lost card is refused by both, and without
// either answer the agent says unknown, never accepted.
func TestAgentAnswersFromServerAndOfflineCopy(t *testing.T) {
	stack.Need(t)
	l := startLedger(t)
	cardNo := l.issueCard(t)
	dir := t.TempDir()
	a := startAgent(t, agentConfig(l.url, l.counter, dir))
	a.out.next(t, 5*time.Second, func(l logged) bool { return l.Event.Event == evReaderWaiting && l.WaitingFor == "card" })
	e := stack.StartCard(t, "--card-number", cardNo)

	read := a.out.next(t, 10*time.Second, is(evCardRead))
	if read.CardNo != cardNo || read.Name != holder.maskedName || read.IDNumber != holder.maskedID || !read.Masked {
		t.Errorf("card_read = %s; want card %s, holder %s %s masked", read.raw, cardNo, holder.maskedName, holder.maskedID)
	}
	if strings.Contains(read.raw, holder.name) || strings.Contains(read.raw, holder.idNumber) {
		t.Errorf("card_read line shows the holder unmasked: %s", read.raw)
	}
	if read.APDUs != 14 {
		t.Errorf("card read took %d APDUs, want 14", read.APDUs)
	}
	dec := a.out.next(t, 10*time.Second, is(evDecision))
	if got, want := answer(dec), (Decision{Decision: Accepted, Reason: "active", Source: SourceServer, CardStatus: "active"}); got != want {
		t.Errorf("active card: %+v, want %+v", got, want)
	}
	latest := a.latest(t, 0)
	if latest.Card == nil || latest.Card.Name != holder.name || latest.Card.IDNumber != holder.idNumber ||
		latest.Decision == nil || latest.Decision.Decision != Accepted || !latest.CardPresent || !latest.ReaderPresent {
		t.Errorf("/latest = %+v; want the full holder and the accepted decision", latest)
	}
	if !strings.Contains(a.out.text(), `"event":"card_inserted"`) {
		t.Error("no card_inserted line")
	}

	t.Run("server down, no offline copy: unknown", func(t *testing.T) {
		l.stop(t)
		dec := a.reinsert(t, e)
		if dec.Decision.Decision != Unknown || dec.Source != SourceNone || dec.ServerError == "" ||
			!strings.HasPrefix(dec.Reason, "no_usable_offline_copy") {
			t.Errorf("decision %s; want unknown from no source, with the server error", dec.raw)
		}
		l.start(t)
	})

	t.Run("server down, card not on the offline copy: accepted offline", func(t *testing.T) {
		l.syncOffline(t, dir)
		l.stop(t)
		dec := a.reinsert(t, e)
		if got, want := answer(dec), (Decision{Decision: Accepted, Reason: "not_listed", Source: SourceOffline}); got != want {
			t.Errorf("%+v, want %+v", got, want)
		}
		if dec.OfflineSyncedAt == nil || dec.ServerError == "" {
			t.Errorf("offline decision %s does not say how old the copy is and why the server did not answer", dec.raw)
		}
		l.start(t)
	})

	consumerCheck := newChecker(agentConfig(l.url, l.consumer, ""), time.Now)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if got, want := consumerCheck.decide(ctx, cardNo, false), (Decision{Decision: Accepted, Reason: "not_listed", Source: SourceServer}); got.Decision != want.Decision || got.Reason != want.Reason || got.Source != want.Source {
		t.Errorf("blacklist-consumer key, active card: %+v, want %+v", got, want)
	}

	l.command(t, cardNo, "loss")
	t.Run("lost card refused by the server", func(t *testing.T) {
		dec := a.reinsert(t, e)
		if got, want := answer(dec), (Decision{Decision: Refused, Reason: "blacklisted:lost", Source: SourceServer, CardStatus: "lost"}); got != want {
			t.Errorf("%+v, want %+v", got, want)
		}
		got := consumerCheck.decide(ctx, cardNo, false)
		if got.Decision != Refused || got.Reason != "blacklisted:lost" || got.Source != SourceServer {
			t.Errorf("blacklist-consumer key, lost card: %+v", got)
		}
	})

	t.Run("lost card refused by the offline copy with the server down", func(t *testing.T) {
		l.syncOffline(t, dir)
		l.stop(t)
		dec := a.reinsert(t, e)
		if got, want := answer(dec), (Decision{Decision: Refused, Reason: "blacklisted:lost", Source: SourceOffline}); got != want {
			t.Errorf("%+v, want %+v", got, want)
		}
		latest := a.latest(t, 0)
		if latest.Decision == nil || latest.Decision.Decision != Refused || latest.Decision.Source != SourceOffline {
			t.Errorf("/latest decision %+v, want refused from offline", latest.Decision)
		}
	})
}

// offlineCopy writes an empty offline blacklist copy synced now.
func offlineCopy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	c := &blacklistsync.Copy{SyncedAt: time.Now(), Entries: map[string]blacklistsync.Entry{}}
	if err := c.Save(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A card pulled out halfway through the read is an error event; the agent
// goes on and reads the card when it comes back.
func TestAgentKeepsRunningWhenCardPulledMidRead(t *testing.T) {
	stack.Need(t)
	a := startAgent(t, agentConfig("", "", offlineCopy(t)))
	e := stack.StartCard(t, "--remove-after", "5")
	a.out.next(t, 10*time.Second, isError("card_removed_mid_read"))
	a.out.next(t, 5*time.Second, is(evCardRemoved))
	if l := a.latest(t, 0); l.Error == nil || l.Error.Kind != "card_removed_mid_read" || l.CardPresent || l.Decision != nil {
		t.Errorf("/latest after the pull = %+v; want the error and no card", l)
	}
	e.Toggle(t)
	dec := a.out.next(t, 10*time.Second, is(evDecision))
	if got, want := answer(dec), (Decision{Decision: Accepted, Reason: "not_listed", Source: SourceOffline}); got != want {
		t.Errorf("after reinsertion: %+v, want %+v", got, want)
	}
}

// Cards the agent cannot vouch for: no social-security application (an
// error, no decision) and an expired card (refused whatever the lists say).
func TestAgentRefusesWhatItCannotVouchFor(t *testing.T) {
	stack.Need(t)
	a := startAgent(t, agentConfig("", "", offlineCopy(t)))
	t.Run("not a social-security card", func(t *testing.T) {
		stack.StartCard(t, "--no-ssse")
		a.out.next(t, 10*time.Second, isError("not_social_security_card"))
		if l := a.latest(t, 0); l.Error == nil || l.Error.Kind != "not_social_security_card" || l.Decision != nil {
			t.Errorf("/latest = %+v", l)
		}
	})
	a.out.next(t, 5*time.Second, is(evCardRemoved))
	t.Run("expired card", func(t *testing.T) {
		stack.StartCard(t, "--issue-date", "20100101", "--expiry-date", "20200101")
		dec := a.out.next(t, 10*time.Second, is(evDecision))
		if got, want := answer(dec), (Decision{Decision: Refused, Reason: "card_expired", Source: SourceOffline}); got != want {
			t.Errorf("%+v, want %+v", got, want)
		}
	})
}

// With pcscd gone every reader disappears, as when the reader is unplugged;
// the agent waits for it by name and reads the card once it is back.
// The tests after it get the restarted stack.
func TestAgentWaitsForReaderToComeBack(t *testing.T) {
	stack.Need(t)
	a := startAgent(t, agentConfig("", "", offlineCopy(t)))
	stack.StartCard(t)
	a.out.next(t, 10*time.Second, is(evDecision))

	stack.StopPCSC(t)
	a.out.next(t, 10*time.Second, func(l logged) bool { return l.Event.Event == evReaderWaiting && l.WaitingFor == "reader" })
	res, err := http.Get("http://" + a.listen + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health map[string]any
	json.NewDecoder(res.Body).Decode(&health)
	res.Body.Close()
	if health["status"] != "ok" || health["reader_present"] != false {
		t.Errorf("/healthz with the reader gone = %v", health)
	}

	stack.StartPCSC(t)
	dec := a.out.next(t, 20*time.Second, is(evDecision))
	if got, want := answer(dec), (Decision{Decision: Accepted, Reason: "not_listed", Source: SourceOffline}); got != want {
		t.Errorf("after the reader came back: %+v, want %+v", got, want)
	}
	if l := a.latest(t, 0); !l.ReaderPresent || !l.CardPresent {
		t.Errorf("/latest after the reader came back = %+v", l)
	}
}
