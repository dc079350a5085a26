package hwbridge

import "fmt"

// readCardAPDUs is the number of APDUs readCard needs on a card that answers
// every command directly: SELECT + 7 records of EF05 + 6 of EF06. READ
// RECORD through the SFI saves the two SELECT EF commands, the exact Le
// saves the 6Cxx round trip, and SELECT with P2=0C saves GET RESPONSE on
// T=0 cards. The card has no cheaper way: multi-record READ RECORD (P2 mode
// 5/6) answers 6A86 and READ BINARY on these record EFs 6981.
const readCardAPDUs = 1 + 7 + 6

// readCard selects the social-security application and reads and validates
// EF05 and EF06. It returns a complete Card (without ATR) or an error,
// never a partly filled Card.
func readCard(s *session) (Card, error) {
	if err := selectSSSE(s); err != nil {
		return Card{}, err
	}
	v05, err := readRecords(s, "EF05", sfiEF05, ef05Fields())
	if err != nil {
		return Card{}, err
	}
	v06, err := readRecords(s, "EF06", sfiEF06, ef06Fields())
	if err != nil {
		return Card{}, err
	}
	return decodeCard(v05, v06)
}

// decodeCard validates the record values of both files.
func decodeCard(v05, v06 [][]byte) (Card, error) {
	ident, err := decodeIdent(v05)
	if err != nil {
		return Card{}, fmt.Errorf("EF05: %w", err)
	}
	holder, err := decodeHolder(v06, ident.IssueDate)
	if err != nil {
		return Card{}, fmt.Errorf("EF06: %w", err)
	}
	return Card{Ident: ident, Holder: holder}, nil
}

// selectSSSE selects the social-security application. Any status but 9000
// means the card has no such application (6A82 file not found on most
// cards; 6D00/6E00 on cards that do not even know SELECT by name).
func selectSSSE(s *session) error {
	r, err := s.exchange("SELECT SSSE", selectSSSECmd())
	if err != nil {
		return err
	}
	if r.sw != 0x9000 {
		return fmt.Errorf("%w: %w", ErrNotSocialSecurityCard, &StatusError{Op: "SELECT SSSE", SW: r.sw})
	}
	return nil
}

// readRecords reads each field's record by number through the SFI and
// returns the TLV values in field order.
func readRecords(s *session, file string, sfi byte, fields []field) ([][]byte, error) {
	values := make([][]byte, len(fields))
	for i, f := range fields {
		op := fmt.Sprintf("READ RECORD %s/%d", file, i+1)
		r, err := s.exchange(op, readRecordCmd(sfi, byte(i+1), f.recordLen()))
		if err != nil {
			return nil, err
		}
		if r.sw != 0x9000 {
			return nil, &StatusError{Op: op, SW: r.sw}
		}
		v, err := recordValue(file, f, r.data)
		if err != nil {
			return nil, err
		}
		values[i] = v
	}
	return values, nil
}

// verifyPIN sends VERIFY (after selecting the application, whose PIN it
// is) and maps the card's retry counter. A nil pin asks for the state.
func verifyPIN(s *session, bcd []byte) (PINResult, error) {
	if err := selectSSSE(s); err != nil {
		return PINResult{}, err
	}
	cmd := verifyCmd(bcd)
	r, err := s.exchange("VERIFY", cmd)
	clear(cmd) // do not leave the PIN in memory longer than needed
	if err != nil {
		return PINResult{}, err
	}
	query := len(bcd) == 0
	switch {
	case r.sw == 0x9000:
		return PINResult{Status: PINVerified, TriesLeft: -1}, nil
	case r.sw&0xFFF0 == 0x63C0:
		st := PINWrong
		if query {
			st = PINUnverified
		}
		return PINResult{Status: st, TriesLeft: int(r.sw & 0x0F)}, nil
	case r.sw == 0x6983:
		return PINResult{Status: PINBlocked, TriesLeft: 0}, nil
	}
	return PINResult{}, &StatusError{Op: "VERIFY", SW: r.sw}
}
