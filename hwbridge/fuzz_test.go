package hwbridge

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzParseRecord: recordValue never panics, and a value it accepts is the
// tail of the record with a length inside the field's range.
func FuzzParseRecord(f *testing.F) {
	for _, rec := range defaultRecords() {
		f.Add(rec[0], byte(1), byte(30), rec)
	}
	f.Add(byte(7), byte(9), byte(9), unhex("078109413132333435363738"))
	f.Add(byte(7), byte(9), byte(9), unhex("07094131"))
	f.Fuzz(func(t *testing.T, tag, minLen, maxLen byte, rec []byte) {
		fl := field{tag: tag, name: "X", minLen: int(minLen), maxLen: int(maxLen)}
		v, err := recordValue("EF05", fl, rec)
		if err != nil {
			var te *TLVError
			if !errors.As(err, &te) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not a *TLVError", err)
			}
			return
		}
		if len(v) < fl.minLen || len(v) > fl.maxLen || len(v) > len(rec)-2 || rec[0] != tag {
			t.Fatalf("accepted %X as value of %X", v, rec)
		}
		if !bytes.HasSuffix(rec, v) {
			t.Fatalf("value %X is not the tail of %X", v, rec)
		}
	})
}

// FuzzParseCard feeds arbitrary response sequences (each prefixed with its
// length) to the whole read path. It must never panic, and must return
// either a Card that passes every check or a zero Card with an error the
// caller can classify.
func FuzzParseCard(f *testing.F) {
	good := defaultResponses()
	f.Add(frame(good))
	f.Add(frame(good[:5]))
	f.Add(frame([][]byte{unhex("6A82")}))
	f.Add(frame([][]byte{unhex("9000"), unhex("6C12"), unhex("6112"), unhex("")}))
	broken := append([][]byte(nil), good...)
	broken[9] = unhex("0909D5C5C8FD9000") // name record claims 9 bytes, has 4
	f.Add(frame(broken))
	f.Fuzz(func(t *testing.T, in []byte) {
		s := &session{ctx: context.Background(), t: &replay{rsps: unframe(in)}}
		c, err := readCard(s)
		if err != nil {
			if !isZeroCard(c) {
				t.Fatalf("partial card with error %v: %+v", err, c)
			}
			for _, known := range []error{ErrMalformed, ErrInvalidField, ErrUnexpectedStatus,
				ErrNotSocialSecurityCard, ErrEmptyResponse, errReplayEnd} {
				if errors.Is(err, known) {
					return
				}
			}
			t.Fatalf("unclassified error: %v", err)
		}
		if _, err := ParseCitizenID(string(c.Holder.SSN)); err != nil {
			t.Fatalf("accepted SSN: %v", err)
		}
		if c.Holder.Name == "" || !utf8.ValidString(c.Holder.Name) || c.Holder.BirthDate != c.Holder.SSN.BirthDate() ||
			c.Holder.Sex != c.Holder.SSN.Sex() || c.Ident.ExpiryDate.Compare(c.Ident.IssueDate) <= 0 ||
			len(c.Ident.IdentCode) != 32 || len(c.Ident.Number) != 9 || len(c.Holder.Birthplace) != 6 {
			t.Fatalf("accepted an invalid card: %+v", c)
		}
		if s.apdus < readCardAPDUs {
			t.Fatalf("complete card after %d APDUs", s.apdus)
		}
	})
}
