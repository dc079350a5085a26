package main

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/cardledger/cardledger/ecard"
	"github.com/cardledger/cardledger/hwbridge"
)

// waitSlice bounds one WaitForCard call. Waiting for a card has no end, but
// the connect inside WaitForCard can hang on a broken card and only a
// deadline gets it back; each slice ends such a hang, and the next one
// starts over.
const waitSlice = 10 * time.Second

// agent watches one reader and answers for every card put in it.
type agent struct {
	cfg   Config
	log   *eventLog
	state *state
	check *checker
	codes *ecard.CodeChecker // e-card codes sent to POST /verify-code
	usage *usageReporter     // nil: no usage reports
	now   func() time.Time
	bg    sync.WaitGroup // usage reports in flight
}

// watch runs until ctx ends, through the reader disappearing and coming
// back, cards pulled mid-read and server outages.
func (a *agent) watch(ctx context.Context) {
	waiting := false // reader_waiting{reader} already said
	for ctx.Err() == nil {
		r, err := hwbridge.Open(ctx, a.cfg.Reader)
		if err != nil {
			if !waiting && ctx.Err() == nil {
				a.log.emit(Event{Event: evReaderWaiting, Reader: a.cfg.Reader, WaitingFor: "reader",
					Kind: errorKind(err), Message: err.Error()})
				a.state.update(func(l *Latest) { l.ReaderPresent, l.CardPresent = false, false })
				waiting = true
			}
			sleep(ctx, a.cfg.ReaderPoll)
			continue
		}
		waiting = false
		a.state.update(func(l *Latest) { l.ReaderPresent = true })
		err = a.serve(ctx, r)
		r.Close()
		if ctx.Err() != nil {
			return
		}
		a.log.emit(Event{Event: evError, Reader: a.cfg.Reader, Kind: errorKind(err), Message: err.Error()})
		a.state.update(func(l *Latest) { l.ReaderPresent, l.CardPresent = false, false })
		sleep(ctx, a.cfg.ReaderPoll)
	}
}

// serve handles cards in r until the reader fails (gone, pcscd stopped) or
// ctx ends; it returns why.
func (a *agent) serve(ctx context.Context, r *hwbridge.Reader) error {
	for {
		a.log.emit(Event{Event: evReaderWaiting, Reader: a.cfg.Reader, WaitingFor: "card"})
		atr, err := a.waitForCard(ctx, r)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, hwbridge.ErrCardMute):
			a.cardFailed(err)
		case err != nil:
			return err
		default:
			if err := a.handleCard(ctx, r, atr); err != nil {
				return err
			}
		}
		if err := r.WaitForRemoval(ctx); err != nil {
			return err
		}
		a.log.emit(Event{Event: evCardRemoved, Reader: a.cfg.Reader})
		a.state.update(func(l *Latest) { l.CardPresent = false })
	}
}

func (a *agent) waitForCard(ctx context.Context, r *hwbridge.Reader) ([]byte, error) {
	for {
		sctx, cancel := context.WithTimeout(ctx, waitSlice)
		atr, err := r.WaitForCard(sctx)
		cancel()
		if err == nil || ctx.Err() != nil || !errors.Is(err, hwbridge.ErrTimeout) {
			return atr, err
		}
	}
}

// handleCard reads the card just connected and decides on it. It returns
// an error only when the reader itself failed.
func (a *agent) handleCard(ctx context.Context, r *hwbridge.Reader, atr []byte) error {
	start := time.Now()
	a.log.emit(Event{Event: evCardInserted, Reader: a.cfg.Reader, ATR: strings.ToUpper(hex.EncodeToString(atr))})
	a.state.update(func(l *Latest) { l.CardPresent, l.Card, l.Decision, l.Error = true, nil, nil, nil })

	apdus := r.APDUs()
	rctx, cancel := context.WithTimeout(ctx, a.cfg.ReadTimeout)
	card, err := r.ReadCard(rctx)
	cancel()
	if err != nil {
		if readerGone(err) {
			return err
		}
		a.cardFailed(err)
		return nil
	}
	now := a.now()
	a.log.emit(Event{Event: evCardRead, Reader: a.cfg.Reader, CardNo: card.Ident.Number,
		CardView: viewOf(card, now, true), APDUs: r.APDUs() - apdus, ReadMS: ms(time.Since(start))})

	d := a.check.decide(ctx, card.Ident.Number, card.Expired(now))
	d.TotalMS = ms(time.Since(start))
	a.log.emit(Event{Event: evDecision, Reader: a.cfg.Reader, CardNo: card.Ident.Number, Decision: &d})
	shown := viewOf(card, now, a.cfg.LatestHolder != "full")
	a.state.update(func(l *Latest) { l.Card, l.Decision = shown, &d })

	if a.usage != nil && d.Decision == Accepted && d.Source == SourceServer {
		a.bg.Go(func() {
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.UsageTimeout)
			defer cancel()
			a.usage.report(uctx, card.Ident.Number, now)
		})
	}
	return nil
}

// cardFailed logs a card that could not be read and shows it on /latest.
func (a *agent) cardFailed(err error) {
	kind := errorKind(err)
	a.log.emit(Event{Event: evError, Reader: a.cfg.Reader, Kind: kind, Message: err.Error()})
	a.state.update(func(l *Latest) { l.Error = &ErrorView{Kind: kind, Message: err.Error()} })
}

// readerGone reports whether err means the reader (or PC/SC) is gone
// rather than the card.
func readerGone(err error) bool {
	return errors.Is(err, hwbridge.ErrNoReader) || errors.Is(err, hwbridge.ErrNoService) || errors.Is(err, hwbridge.ErrClosed)
}

// errorKind names an error for the log's kind field, most specific first.
func errorKind(err error) string {
	kinds := []struct {
		err  error
		kind string
	}{
		{hwbridge.ErrNoReader, "no_reader"},
		{hwbridge.ErrNoService, "no_pcsc_service"},
		{hwbridge.ErrCardRemoved, "card_removed_mid_read"},
		{hwbridge.ErrCardReset, "card_reset"},
		{hwbridge.ErrCardMute, "card_mute"},
		{hwbridge.ErrNotSocialSecurityCard, "not_social_security_card"},
		{hwbridge.ErrPINRequired, "pin_required"},
		{hwbridge.ErrMalformed, "malformed_card_data"},
		{hwbridge.ErrInvalidField, "invalid_card_data"},
		{hwbridge.ErrEmptyResponse, "empty_response"},
		{hwbridge.ErrTimeout, "timeout"},
		{hwbridge.ErrUnexpectedStatus, "unexpected_status"},
		{hwbridge.ErrNoCard, "no_card"},
		{hwbridge.ErrClosed, "closed"},
	}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	return "other"
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
