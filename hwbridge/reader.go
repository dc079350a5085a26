package hwbridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ebfe/scard"
)

const (
	// waitSlice bounds one GetStatusChange call. Cancellation normally
	// interrupts a wait at once (SCardCancel); the slice only bounds the
	// delay when a cancel lands just before the call starts.
	waitSlice = time.Second
	// removalProbe is how long a failed APDU waits for pcscd (polling every
	// 400 ms) to say whether the card is gone: two poll periods.
	removalProbe = 900 * time.Millisecond
)

// Reader is one named PC/SC reader and the card session in it. Its methods
// are safe for concurrent use but run one at a time: a call waits while
// another holds the reader (including WaitForCard and WaitForRemoval).
// Close may be called at any time and aborts a wait.
type Reader struct {
	name string
	// sc is nil after a hung call made the Reader abandon its context; the
	// next operation establishes a new one (see blocking).
	sc     atomic.Pointer[scard.Context]
	closed atomic.Bool
	apdus  atomic.Uint64

	mu     sync.Mutex
	card   *scard.Card // nil: no card session
	atr    []byte
	events uint32 // the reader's event counter when card was connected
	// hung is closed once a call abandoned by blocking has returned and its
	// card handle is disconnected; nil when there is none. That disconnect
	// resets the card, so no new session may start before it.
	hung chan struct{}
}

// ListReaders returns the names of the readers PC/SC knows, or an error
// matching ErrNoReader if there are none.
func ListReaders(ctx context.Context) ([]string, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	sc, err := scard.EstablishContext()
	if err != nil {
		return nil, fmt.Errorf("establish PC/SC context: %w", mapSCardErr(err))
	}
	defer sc.Release()
	names, err := sc.ListReaders()
	if err != nil {
		return nil, fmt.Errorf("list readers: %w", mapSCardErr(err))
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("list readers: %w", ErrNoReader)
	}
	return names, nil
}

// Open opens the reader named exactly readerName (see ListReaders; one
// device can show up as several readers, so never pick one by position).
// It fails with ErrNoReader if PC/SC has no such reader and ErrNoService if
// pcscd is not running. Open does not wait for a card.
func Open(ctx context.Context, readerName string) (*Reader, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	sc, err := scard.EstablishContext()
	if err != nil {
		return nil, fmt.Errorf("open %q: establish PC/SC context: %w", readerName, mapSCardErr(err))
	}
	names, err := sc.ListReaders()
	if err == nil && !slices.Contains(names, readerName) {
		err = fmt.Errorf("%w (readers: %q)", ErrNoReader, names)
	}
	if err != nil {
		sc.Release()
		return nil, fmt.Errorf("open %q: %w", readerName, mapSCardErr(err))
	}
	r := &Reader{name: readerName}
	r.sc.Store(sc)
	return r, nil
}

// Name returns the reader's PC/SC name.
func (r *Reader) Name() string { return r.name }

// APDUs returns how many command APDUs this Reader has sent, GET RESPONSE
// and resends included.
func (r *Reader) APDUs() uint64 { return r.apdus.Load() }

// ATR returns the answer to reset of the connected card, nil if none.
func (r *Reader) ATR() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.atr)
}

// Close ends the card session (resetting the card, so a verified PIN does
// not outlive it) and releases the PC/SC context. Safe to call twice.
func (r *Reader) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	if sc := r.sc.Load(); sc != nil {
		_ = sc.Cancel() // abort a wait holding mu
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.drop()
	sc := r.sc.Swap(nil)
	if sc == nil {
		return nil
	}
	if err := sc.Release(); err != nil {
		return fmt.Errorf("close %q: %w", r.name, mapSCardErr(err))
	}
	return nil
}

// WaitForCard waits until a card is in the reader and connects to it,
// returning its ATR. If the connected card is still there it returns at
// once. A card that does not answer to reset gives ErrCardMute; the
// context's deadline gives ErrTimeout.
func (r *Reader) WaitForCard(ctx context.Context) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Load() {
		return nil, ErrClosed
	}
	if r.card != nil {
		if _, err := r.card.Status(); err == nil {
			return slices.Clone(r.atr), nil
		}
		r.drop()
	}
	if r.hung != nil {
		select {
		case <-r.hung:
			r.hung = nil
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for card in %q: the previous card still does not answer: %w", r.name, ctxErr(ctx))
		}
	}
	for {
		ev, err := r.waitState(ctx, func(ev scard.StateFlag) bool { return ev&scard.StatePresent != 0 })
		if err != nil {
			return nil, fmt.Errorf("wait for card in %q: %w", r.name, err)
		}
		if ev&scard.StateMute != 0 {
			return nil, fmt.Errorf("card in %q: %w", r.name, ErrCardMute)
		}
		sc, err := r.pcsc()
		if err != nil {
			return nil, err
		}
		var card *scard.Card
		var st *scard.CardStatus
		err, abandoned := r.blocking(ctx, func() error {
			var err error
			if card, err = sc.Connect(r.name, scard.ShareShared, scard.ProtocolAny); err != nil {
				return err
			}
			if st, err = card.Status(); err != nil {
				_ = card.Disconnect(scard.ResetCard)
			}
			return err
		})
		if abandoned {
			return nil, fmt.Errorf("connect %q: card does not answer: %w", r.name, err)
		}
		if errors.Is(err, scard.ErrNoSmartcard) || errors.Is(err, scard.ErrRemovedCard) {
			continue // pulled out again before we connected
		}
		if err != nil {
			return nil, fmt.Errorf("connect %q: %w", r.name, mapSCardErr(err))
		}
		r.card, r.atr, r.events = card, st.Atr, eventCount(ev)
		return slices.Clone(r.atr), nil
	}
}

// WaitForRemoval waits until the card is out of the reader (or was swapped
// for another one) and ends the card session. Without a session it waits
// for the reader to be empty.
func (r *Reader) WaitForRemoval(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Load() {
		return ErrClosed
	}
	connected, events := r.card != nil, r.events
	_, err := r.waitState(ctx, func(ev scard.StateFlag) bool {
		return ev&scard.StateEmpty != 0 || (connected && eventCount(ev) != events)
	})
	if err != nil {
		return fmt.Errorf("wait for removal from %q: %w", r.name, err)
	}
	r.drop()
	return nil
}

// ReadCard selects the social-security application and reads and validates
// the card identification data (EF05) and the holder data (EF06) in one
// PC/SC transaction. It returns a complete Card or an error, never part of
// a Card. Holder data that the card protects until VERIFY gives an error
// matching ErrPINRequired.
func (r *Reader) ReadCard(ctx context.Context) (Card, error) {
	var card Card
	err := r.withCard(ctx, "read card", func(s *session) error {
		c, err := readCard(s)
		c.ATR = slices.Clone(r.atr) // withCard holds mu
		card = c
		return err
	})
	if err != nil {
		return Card{}, err
	}
	return card, nil
}

// VerifyPIN presents pin to the card. Right, wrong and blocked PINs are
// results, not errors; errors are for everything else (no card, card
// removed, unexpected SW...). The PIN is never logged or kept.
func (r *Reader) VerifyPIN(ctx context.Context, pin PIN) (PINResult, error) {
	if pin.IsZero() {
		return PINResult{}, ErrInvalidPIN
	}
	var res PINResult
	err := r.withCard(ctx, "verify PIN", func(s *session) error {
		bcd := pin.bcd()
		defer clear(bcd)
		var err error
		res, err = verifyPIN(s, bcd)
		return err
	})
	return res, err
}

// PINState asks the card for its PIN state without trying a PIN: verified
// in this session, unverified with the tries left, or blocked.
func (r *Reader) PINState(ctx context.Context) (PINResult, error) {
	var res PINResult
	err := r.withCard(ctx, "PIN state", func(s *session) error {
		var err error
		res, err = verifyPIN(s, nil)
		return err
	})
	return res, err
}

// withCard runs fn in a PC/SC transaction on the connected card. A transport
// failure ends the card session: the card's state is unknown afterwards.
func (r *Reader) withCard(ctx context.Context, op string, fn func(*session) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Load() {
		return ErrClosed
	}
	if err := ctxErr(ctx); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if r.card == nil {
		return fmt.Errorf("%s: %w", op, ErrNoCard)
	}
	if err, abandoned := r.blocking(ctx, r.card.BeginTransaction); err != nil {
		if abandoned { // another program holds the card, or it hangs
			return fmt.Errorf("%s: begin transaction: %w", op, err)
		}
		r.drop()
		return fmt.Errorf("%s: begin transaction: %w", op, mapSCardErr(err))
	}
	link := &cardLink{r: r, card: r.card, ctx: ctx}
	s := &session{ctx: ctx, t: link}
	err := fn(s)
	r.apdus.Add(uint64(s.apdus))
	if link.broken {
		r.drop()
	} else if endErr := r.card.EndTransaction(scard.LeaveCard); endErr != nil && err == nil {
		r.drop()
		err = fmt.Errorf("end transaction: %w", mapSCardErr(endErr))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// drop ends the card session. ResetCard makes pcscd reset the card, so the
// next connection starts from a fresh power-up. Caller holds mu.
func (r *Reader) drop() {
	if r.card != nil {
		_ = r.card.Disconnect(scard.ResetCard)
	}
	r.card, r.atr, r.events = nil, nil, 0
}

// pcsc returns the Reader's PC/SC context, establishing a new one after a
// hung call abandoned the old. Caller holds mu.
func (r *Reader) pcsc() (*scard.Context, error) {
	if sc := r.sc.Load(); sc != nil {
		return sc, nil
	}
	sc, err := scard.EstablishContext()
	if err != nil {
		return nil, fmt.Errorf("establish PC/SC context: %w", mapSCardErr(err))
	}
	r.sc.Store(sc)
	return sc, nil
}

// blocking runs f, a PC/SC call on the card that has no timeout of its own
// (a card or driver that hangs blocks SCardTransmit, SCardConnect and
// SCardBeginTransaction for good), until it returns or ctx ends. When ctx
// ends first, abandoned is true and err is the context's error: pcsc-lite
// holds the context's lock for the whole call, so the Reader gives up the
// context and the card handle (the next operation starts afresh) and
// releases them once f finally returns. Caller holds mu.
func (r *Reader) blocking(ctx context.Context, f func() error) (err error, abandoned bool) {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err, false
	case <-ctx.Done():
	}
	old, card := r.sc.Swap(nil), r.card
	r.card, r.atr, r.events = nil, nil, 0
	prev, hung := r.hung, make(chan struct{})
	r.hung = hung
	go func() {
		<-done
		if prev != nil {
			<-prev // keep the cleanups in order
		}
		if card != nil {
			_ = card.Disconnect(scard.ResetCard)
		}
		if old != nil {
			_ = old.Release()
		}
		close(hung)
	}()
	return ctxErr(ctx), true
}

// waitState waits until done accepts the reader's state or ctx ends.
func (r *Reader) waitState(ctx context.Context, done func(scard.StateFlag) bool) (scard.StateFlag, error) {
	sc, err := r.pcsc()
	if err != nil {
		return 0, err
	}
	stop := context.AfterFunc(ctx, func() { _ = sc.Cancel() })
	defer stop()
	rs := []scard.ReaderState{{Reader: r.name, CurrentState: scard.StateUnaware}}
	for {
		if r.closed.Load() {
			return 0, ErrClosed
		}
		if err := ctxErr(ctx); err != nil {
			return 0, err
		}
		timeout := waitSlice
		if dl, ok := ctx.Deadline(); ok {
			timeout = max(min(timeout, time.Until(dl)), time.Millisecond)
		}
		err := sc.GetStatusChange(rs, timeout)
		switch {
		case err == nil:
		case errors.Is(err, scard.ErrTimeout), errors.Is(err, scard.ErrCancelled):
			continue // re-check ctx and closed
		default:
			return 0, mapSCardErr(err)
		}
		ev := rs[0].EventState
		if ev&(scard.StateUnknown|scard.StateUnavailable|scard.StateIgnore) != 0 {
			return 0, ErrNoReader
		}
		if done(ev) {
			return ev, nil
		}
		rs[0].CurrentState = ev &^ scard.StateChanged
	}
}

// cardGone reports whether the card this session connected to has left the
// reader, waiting up to removalProbe for pcscd to notice.
func (r *Reader) cardGone(events uint32) bool {
	sc := r.sc.Load()
	if sc == nil {
		return false
	}
	rs := []scard.ReaderState{{Reader: r.name, CurrentState: scard.StateUnaware}}
	deadline := time.Now().Add(removalProbe)
	for {
		err := sc.GetStatusChange(rs, max(time.Until(deadline), 0))
		if err != nil && !errors.Is(err, scard.ErrCancelled) {
			return errors.Is(err, scard.ErrUnknownReader) || errors.Is(err, scard.ErrReaderUnavailable)
		}
		ev := rs[0].EventState
		if ev&scard.StateEmpty != 0 || eventCount(ev) != events {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		rs[0].CurrentState = ev &^ scard.StateChanged
	}
}

// eventCount is pcsc-lite's per-reader insertion/removal counter, kept in
// the upper 16 bits of the event state.
func eventCount(ev scard.StateFlag) uint32 { return uint32(ev) >> 16 }

// cardLink adapts *scard.Card to transmitter and classifies failures.
type cardLink struct {
	r      *Reader
	card   *scard.Card
	ctx    context.Context
	broken bool // a transmit failed: the session must be dropped
}

func (l *cardLink) Transmit(cmd []byte) ([]byte, error) {
	// The call gets its own copy: if it hangs, it outlives this function,
	// and the caller clears its buffer (VERIFY holds the PIN).
	own := slices.Clone(cmd)
	var rsp []byte
	err, abandoned := l.r.blocking(l.ctx, func() error {
		defer clear(own)
		var err error
		rsp, err = l.card.Transmit(own)
		return err
	})
	if abandoned {
		l.broken = true
		return nil, fmt.Errorf("card does not answer: %w", err)
	}
	if err == nil && len(rsp) > 0 {
		return rsp, nil
	}
	l.broken = true
	// A card pulled mid-APDU shows up as an empty answer or a failed
	// transaction before pcscd notices the removal; ask the reader.
	if err == nil || errors.Is(err, scard.ErrNotTransacted) || errors.Is(err, scard.ErrCommError) ||
		errors.Is(err, scard.ErrUnresponsiveCard) {
		if l.r.cardGone(l.r.events) {
			if err == nil {
				return nil, fmt.Errorf("%w (empty response)", ErrCardRemoved)
			}
			return nil, fmt.Errorf("%w: %w", ErrCardRemoved, err)
		}
	}
	if err == nil {
		return nil, ErrEmptyResponse
	}
	return nil, mapSCardErr(err)
}

// mapSCardErr wraps PC/SC errors callers branch on with this package's
// sentinels; the scard.Error stays in the chain.
func mapSCardErr(err error) error {
	var se scard.Error
	if !errors.As(err, &se) {
		return err
	}
	var sentinel error
	switch se {
	case scard.ErrRemovedCard, scard.ErrNoSmartcard:
		sentinel = ErrCardRemoved
	case scard.ErrResetCard:
		sentinel = ErrCardReset
	case scard.ErrUnknownReader, scard.ErrReaderUnavailable, scard.ErrNoReadersAvailable:
		sentinel = ErrNoReader
	case scard.ErrNoService, scard.ErrServiceStopped:
		sentinel = ErrNoService
	case scard.ErrTimeout:
		sentinel = ErrTimeout
	case scard.ErrUnpoweredCard, scard.ErrUnresponsiveCard:
		sentinel = ErrCardMute
	default:
		return err
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}
