package hwbridge

import (
	"context"
	"errors"
	"fmt"
)

// ssseAID is the AID of the social-security application, "sx1.sh.社会保障"
// in GBK (7378312E73682EC9E7BBE1B1A3D5CF).
const ssseAID = "sx1.sh.\xC9\xE7\xBB\xE1\xB1\xA3\xD5\xCF"

// SSSEAID returns the AID of the social-security application.
func SSSEAID() []byte { return []byte(ssseAID) }

const (
	sfiEF05 = 5 // card identification data
	sfiEF06 = 6 // holder basic data

	// maxChained bounds 61xx GET RESPONSE chains: a broken card must not
	// keep us looping.
	maxChained = 8
)

// transmitter sends one command APDU and returns the raw response (data and
// SW1 SW2). *Reader adapts *scard.Card to it; fuzz tests replay recordings.
type transmitter interface {
	Transmit(cmd []byte) ([]byte, error)
}

// response is a response APDU split into data and status word.
type response struct {
	data []byte
	sw   uint16
}

// parseResponse splits a raw response APDU. Zero bytes with no transport
// error is how a crashed driver answers; one byte cannot hold a SW.
func parseResponse(raw []byte) (response, error) {
	switch len(raw) {
	case 0:
		return response{}, ErrEmptyResponse
	case 1:
		return response{}, fmt.Errorf("%w: %d-byte response has no status word", ErrMalformed, len(raw))
	}
	n := len(raw) - 2
	return response{data: raw[:n:n], sw: uint16(raw[n])<<8 | uint16(raw[n+1])}, nil
}

// selectSSSE selects the application by DF name with P2=0C (no FCI): the
// answer is a bare SW, so even a T=0 card answers in one APDU.
func selectSSSECmd() []byte {
	return append([]byte{0x00, 0xA4, 0x04, 0x0C, byte(len(ssseAID))}, ssseAID...)
}

// readRecordCmd reads record number n of the EF with short id sfi without
// selecting the EF first (P2 = SFI<<3 | 4), asking for le bytes: the
// record's length as the card specification fixes it, as deployed reader
// code sends it (00B2010414 for the SSN record). Cards that insist on an
// exact Le then answer in one APDU; a record of another length costs a
// 6Cxx round trip, not a failure.
func readRecordCmd(sfi, n, le byte) []byte {
	return []byte{0x00, 0xB2, n, sfi<<3 | 0x04, le}
}

// verifyCmd is VERIFY with the PIN BCD-packed; data nil asks for the PIN
// state without trying a PIN.
func verifyCmd(bcd []byte) []byte {
	if len(bcd) == 0 {
		return []byte{0x00, 0x20, 0x00, 0x00}
	}
	return append([]byte{0x00, 0x20, 0x00, 0x00, byte(len(bcd))}, bcd...)
}

// hasLe reports whether a short command APDU ends in an Le byte (case 2 or
// case 4), the only commands 6Cxx may be answered to.
func hasLe(cmd []byte) bool {
	return len(cmd) == 5 || (len(cmd) > 5 && len(cmd) == 6+int(cmd[4]))
}

// session runs APDUs for one operation, counts them and stops at the
// context's end between APDUs (the transmitter handles an APDU in flight).
type session struct {
	ctx   context.Context
	t     transmitter
	apdus int
}

// exchange sends cmd and returns the final response, following 61xx with
// GET RESPONSE and 6Cxx with a resend using the Le the card asked for. Every
// APDU sent is counted.
func (s *session) exchange(op string, cmd []byte) (response, error) {
	var data []byte
	resent := false
	for range maxChained {
		if err := ctxErr(s.ctx); err != nil {
			return response{}, fmt.Errorf("%s: %w", op, err)
		}
		s.apdus++
		raw, err := s.t.Transmit(cmd)
		if err != nil {
			return response{}, fmt.Errorf("%s: %w", op, err)
		}
		r, err := parseResponse(raw)
		if err != nil {
			return response{}, fmt.Errorf("%s: %w", op, err)
		}
		switch {
		case r.sw>>8 == 0x61: // T=0: more data waiting
			data = append(data, r.data...)
			le := byte(r.sw)
			cmd = []byte{0x00, 0xC0, 0x00, 0x00, le}
		case r.sw>>8 == 0x6C && hasLe(cmd) && !resent: // wrong Le: use SW2
			resent = true
			cmd = append([]byte(nil), cmd...)
			cmd[len(cmd)-1] = byte(r.sw)
		default:
			if data != nil {
				r.data = append(data, r.data...)
			}
			return r, nil
		}
	}
	return response{}, fmt.Errorf("%s: %w: more than %d chained responses", op, ErrMalformed, maxChained)
}

// ctxErr turns an ended context into the package's errors: a deadline is
// ErrTimeout (and still context.DeadlineExceeded), a cancel stays
// context.Canceled.
func ctxErr(ctx context.Context) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return err
}
