package files

import (
	"fmt"
	"strings"

	"github.com/cardledger/cardledger/domain"
)

// sexCode is GB/T 2261.1: 1 male, 2 female.
func sexCode(s domain.Sex) string {
	switch s {
	case domain.Male:
		return "1"
	case domain.Female:
		return "2"
	}
	return "0"
}

func compactDate(d string) string { return strings.ReplaceAll(d, "-", "") }

// PhotoOf gives the photo column of a member's production line: the stored
// image, base64 (standard alphabet: no '|'), or "" when the member has no
// stored photo (a batch file's free-text reference, an erased person).
type PhotoOf func(m domain.BatchMember) (string, error)

// Export builds the export file of kind k from the batch state: one detail
// line per member that belongs in it (domain.Batch.InFile), in batch order.
// photo fills the production file's photo column (nil: empty).
func Export(b *domain.Batch, k domain.BatchFileKind, photo PhotoOf) (*File, error) {
	f := &File{Kind: k, BatchID: b.ID, CreatedOn: b.CreatedOn}
	for _, i := range b.InFile(k) {
		m, p := b.Members[i], b.Progress[i]
		var rec []string
		switch k {
		case domain.FileBankOpen:
			rec = []string{m.ApplicationID, m.IDNumber, m.Name, sexCode(m.Sex), compactDate(m.BirthDate), m.Nationality, m.RegionCode, m.BankCode}
		case domain.FileProduction:
			img := ""
			if photo != nil {
				var err error
				if img, err = photo(m); err != nil {
					return nil, fmt.Errorf("export: photo of %s: %w", m.ApplicationID, err)
				}
			}
			rec = []string{m.ApplicationID, p.CardNo, m.IDNumber, m.Name, sexCode(m.Sex), compactDate(m.BirthDate), m.Nationality, m.RegionCode, m.BankCode, p.AccountNo, m.PhotoRef, img}
		case domain.FileBankData:
			rec = []string{m.ApplicationID, p.CardNo, m.IDNumber, m.Name, m.BankCode, p.AccountNo, p.ChipID}
		default:
			return nil, fmt.Errorf("export: %s is not an export file", k)
		}
		f.Records = append(f.Records, rec)
	}
	return f, nil
}

// ReturnCommand turns a parsed return file into the command that offers it
// to its batch. Lines whose result code is neither 0 nor 1 are problems.
func ReturnCommand(f *File) (domain.AcceptBatchReturn, []Problem) {
	c := domain.AcceptBatchReturn{File: f.Kind, BatchID: f.BatchID, SHA256: f.SHA256}
	var probs []Problem
	for i, r := range f.Records {
		line := i + 2
		l := domain.ReturnLine{Line: line}
		var result string
		switch f.Kind {
		case domain.FileBankOpenReturn:
			l.ApplicationID, l.IDNumber, result, l.AccountNo, l.Reason = r[0], r[1], r[2], r[3], r[4]
		case domain.FileProductionReturn:
			l.ApplicationID, l.CardNo, l.IDNumber, result, l.ChipID, l.Reason = r[0], r[1], r[2], r[3], r[4], r[5]
		case domain.FileBankDataReturn:
			l.ApplicationID, l.CardNo, l.IDNumber, result, l.Reason = r[0], r[1], r[2], r[3], r[4]
		default:
			return c, []Problem{{1, CodeHeader, fmt.Sprintf("%s is not a return file", f.Kind)}}
		}
		switch result {
		case ResultOK:
			l.OK = true
		case ResultFailed:
		default:
			probs = append(probs, Problem{line, CodeLine, fmt.Sprintf("result %q is not 0 or 1", result)})
			continue
		}
		c.Lines = append(c.Lines, l)
	}
	return c, probs
}
