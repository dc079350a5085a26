package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// ProvinceHandler runs the commands that talk to the provincial card
// database. Each asks the province first and appends only once the province
// answered; a province that did not answer (ErrProvinceUnavailable) leaves
// the holder as it was. A province that acted but whose answer was lost is
// asked again by the retry, and its operations are idempotent, so the
// retry finishes the command (docs/province.md).
type ProvinceHandler struct {
	repo    *Repository
	numbers *CardNumbers
	link    *provinceLink
}

// ProvincialCards is the download of a person's cards (下载异地卡信息).
type ProvincialCards struct {
	CardholderID string              `json:"cardholder_id"`
	Cards        []ProvincialCardRow `json:"cards"`
	// BlockedBy is the card of another city that refuses a first issue
	// here (card_held_elsewhere) until it is transferred in; "" if none.
	BlockedBy string `json:"first_issue_blocked_by"`
}

// ProvincialCardRow is one card as the province records it, and how it
// stands to this city.
type ProvincialCardRow struct {
	domain.ProvincialCard
	TransferredFrom string `json:"transferred_from,omitempty"`
	// Elsewhere: a valid card of another prefecture.
	Elsewhere bool `json:"elsewhere"`
	// Here: one of the holder's cards in this ledger.
	Here bool `json:"here"`
}

// loadHolder loads a holder for a province command, in the caller's scope.
func (h *ProvinceHandler) loadHolder(ctx context.Context, env Envelope, id string) (Loaded, error) {
	if err := checkCardholderID(id); err != nil {
		return Loaded{}, err
	}
	loaded, err := h.repo.Load(ctx, id)
	if err != nil {
		return Loaded{}, err
	}
	if !loaded.State.Registered {
		return Loaded{}, domain.NotFound(domain.CodeCardholderNotFound, "cardholder %s is not registered", id)
	}
	if err := checkScope(env.Scope, loaded.State); err != nil {
		return Loaded{}, err
	}
	if loaded.State.Erased {
		return Loaded{}, domain.Conflict(domain.CodeAlreadyErased, "the personal data of cardholder %s is erased; the province cannot be asked about it", id)
	}
	return loaded, nil
}

// Cards downloads the province's records of the holder's cards.
func (h *ProvinceHandler) Cards(ctx context.Context, env Envelope, cardholderID string) (ProvincialCards, error) {
	// The holder and the caller's scope first: nothing about a holder out
	// of scope shows through, whether a province is there or not.
	loaded, err := h.loadHolder(ctx, env, cardholderID)
	if err != nil {
		return ProvincialCards{}, err
	}
	port, err := h.link.get()
	if err != nil {
		return ProvincialCards{}, err
	}
	cards, err := port.Cards(ctx, loaded.State.Profile.IDNumber)
	if err != nil {
		return ProvincialCards{}, fmt.Errorf("download the cards of cardholder %s: %w", cardholderID, err)
	}
	s := loaded.State
	out := ProvincialCards{CardholderID: cardholderID, Cards: []ProvincialCardRow{}}
	for _, c := range cards {
		out.Cards = append(out.Cards, ProvincialCardRow{ProvincialCard: c.ProvincialCard, TransferredFrom: c.TransferredFrom,
			Elsewhere: c.Elsewhere(s.Profile.RegionCode), Here: holdsCard(s, c.CardNo)})
		if out.BlockedBy == "" && domain.RefuseHeldElsewhere(s, []domain.ProvincialCard{c.ProvincialCard}) != nil {
			out.BlockedBy = c.CardNo
		}
	}
	return out, nil
}

func holdsCard(s *domain.Cardholder, cardNo string) bool {
	if s.Card != nil && s.Card.CardNo == cardNo {
		return true
	}
	return slices.ContainsFunc(s.PastCards, func(c domain.Card) bool { return c.CardNo == cardNo })
}

// TransferIn is 地市卡转移, inbound: the card of another city becomes the
// holder's card here.
type TransferIn struct {
	Envelope
	CardholderID string
	CardNo       string
	Reason       string
}

// TransferIn asks the province for the card's record, decides on it, claims
// the card number here, has the province move the record to the holder's
// region and then records CardTransferredIn. A retry after the province
// moved the record (answer lost, or the append failed) finds it already in
// this region, coming from TransferredFrom, and finishes.
func (h *ProvinceHandler) TransferIn(ctx context.Context, cmd TransferIn) (Result, error) {
	// The body's own fields before anything else.
	switch err := domain.ValidateCardNo(cmd.CardNo); {
	case strings.TrimSpace(cmd.CardNo) == "":
		return Result{}, domain.Invalid(domain.FieldError{Field: "card_no", Code: domain.CodeRequired, Message: "card_no is required"})
	case err != nil:
		return Result{}, domain.Invalid(domain.FieldError{Field: "card_no", Code: domain.CodeInvalidCardNo, Message: err.Error()})
	}
	loaded, err := h.loadHolder(ctx, cmd.Envelope, cmd.CardholderID)
	if err != nil {
		return Result{}, err
	}
	if res, ok := h.repo.Replayed(loaded, cmd.Envelope); ok {
		return res, nil
	}
	port, err := h.link.get()
	if err != nil {
		return Result{}, err
	}
	s := loaded.State
	cards, err := port.Cards(ctx, s.Profile.IDNumber)
	if err != nil {
		return Result{}, fmt.Errorf("transfer card %s in: %w", cmd.CardNo, err)
	}
	i := slices.IndexFunc(cards, func(c ProvinceCard) bool { return c.CardNo == cmd.CardNo })
	if i < 0 {
		return Result{}, domain.NotFound(CodeProvincialCardNotFound, "the province records no card %s of cardholder %s", cmd.CardNo, cmd.CardholderID)
	}
	record := cards[i]
	origin := record.ProvincialCard
	moved := domain.PrefectureOf(record.Region) == domain.PrefectureOf(s.Profile.RegionCode) && record.TransferredFrom != ""
	if moved {
		origin.Region = record.TransferredFrom
	}
	dc := domain.TransferIn{Card: origin, Reason: cmd.Reason}
	if _, err := domain.Decide(s, dc); err != nil {
		return Result{}, err
	}
	holder, err := h.numbers.reserveExact(ctx, cmd.Envelope, cmd.CardNo, cmd.CardholderID)
	if err != nil {
		return Result{}, err
	}
	if holder != cmd.CardholderID {
		return Result{}, domain.Conflict(CodeCardNumberTaken, "card number %s belongs to another cardholder here", cmd.CardNo)
	}
	if !moved {
		if _, err := port.Transfer(ctx, s.Profile.IDNumber, cmd.CardNo, s.Profile.RegionCode); err != nil {
			return Result{}, fmt.Errorf("transfer card %s in: %w", cmd.CardNo, err)
		}
	}
	return h.repo.Update(ctx, cmd.CardholderID, cmd.Expected, cmd.Envelope, func(s *domain.Cardholder) ([]domain.Event, error) {
		return domain.Decide(s, dc)
	})
}

// CancelProvincialRecord is 注销省厅卡信息.
type CancelProvincialRecord struct {
	Envelope
	CardNo string
	Reason string
}

// CancelRecord has the province cancel its record of one of the holder's
// cancelled cards and then records ProvincialRecordCancelled. A province
// that does not know the card (card_not_found) has nothing to cancel: that
// is recorded the same way.
func (h *ProvinceHandler) CancelRecord(ctx context.Context, cmd CancelProvincialRecord) (Result, error) {
	if strings.TrimSpace(cmd.Reason) == "" {
		return Result{}, domain.Invalid(domain.FieldError{Field: "reason", Code: domain.CodeRequired, Message: "reason is required"})
	}
	id, err := h.numbers.Resolve(ctx, cmd.CardNo)
	if err != nil {
		return Result{}, err
	}
	loaded, err := h.loadHolder(ctx, cmd.Envelope, id)
	if err != nil {
		return Result{}, err
	}
	if res, ok := h.repo.Replayed(loaded, cmd.Envelope); ok {
		return res, nil
	}
	dc := domain.CancelProvincialRecord{CardNo: cmd.CardNo, Reason: cmd.Reason}
	if _, err := domain.Decide(loaded.State, dc); err != nil {
		return Result{}, err
	}
	port, err := h.link.get()
	if err != nil {
		return Result{}, err
	}
	err = port.CancelRecord(ctx, cmd.CardNo, loaded.State.Profile.RegionCode, cmd.Reason)
	if r, ok := errors.AsType[*ProvinceRefusal](err); ok && r.Code == CodeProvinceCardNotFoundRaw {
		err = nil
	}
	if err != nil {
		return Result{}, fmt.Errorf("cancel the provincial record of card %s: %w", cmd.CardNo, err)
	}
	return h.repo.Update(ctx, id, cmd.Expected, cmd.Envelope, func(s *domain.Cardholder) ([]domain.Event, error) {
		return domain.Decide(s, dc)
	})
}

// UploadReport is what an upload sent.
type UploadReport struct {
	From     string            `json:"from_position"`
	Until    string            `json:"until_position"`
	More     bool              `json:"more"`
	Holders  int               `json:"holders"`
	Records  int               `json:"records"`
	Rejected []UploadRejection `json:"rejected"`
}

// MaxUploadHolders bounds the holders one upload call reads; the report's
// Until is where the next call continues.
const MaxUploadHolders = 2000

// Records collects the province's records of every card of the holders
// whose streams changed after from, up to MaxUploadHolders holders; until
// is the position of the last event read, more whether the log goes on.
func (h *ProvinceHandler) Records(ctx context.Context, from eventstore.Position) (records []ProvinceCard, holders int, until eventstore.Position, more bool, err error) {
	seen := map[string]bool{}
	var ids []string
	until = from
	store := h.repo.p.store
	for len(ids) < MaxUploadHolders {
		page, err := store.ReadAll(ctx, until, 500)
		if err != nil {
			return nil, 0, until, false, fmt.Errorf("province upload: read the log after %s: %w", until, err)
		}
		if len(page) == 0 {
			break
		}
		for _, ev := range page {
			if id, ok := domain.CardholderIDOfStream(ev.Stream); ok && !seen[id] {
				if len(ids) == MaxUploadHolders {
					more = true
					break
				}
				seen[id] = true
				ids = append(ids, id)
			}
			until = ev.Position
		}
		if more {
			break
		}
	}
	for _, id := range ids {
		loaded, err := h.repo.Load(ctx, id)
		if err != nil {
			return nil, 0, until, false, err
		}
		records = append(records, RecordsOf(loaded.State)...)
	}
	return records, len(ids), until, more, nil
}

// RecordsOf is what the province records of a holder: every numbered card
// that is this city's (not transferred away, not a record the province
// already cancelled), in its status here. An erased holder sends nothing.
func RecordsOf(s *domain.Cardholder) []ProvinceCard {
	if !s.Registered || s.Erased {
		return nil
	}
	var out []ProvinceCard
	cards := append(slices.Clone(s.PastCards), domain.Card{})
	if s.Card != nil {
		cards[len(cards)-1] = *s.Card
	}
	for _, c := range cards {
		if c.CardNo == "" || c.Status == domain.StatusTransferred || c.ProvincialRecordCancelled {
			continue
		}
		out = append(out, ProvinceCard{IDNumber: s.Profile.IDNumber, Name: s.Profile.Name, ProvincialCard: domain.ProvincialCard{
			CardNo: c.CardNo, Region: s.Profile.RegionCode, Status: c.Status, IssuedOn: c.IssuedOn,
			BankCode: c.BankCode, Generation: c.Generation.OrSecond(),
		}})
	}
	return out
}

// Upload sends the records Records collects to the province, in chunks.
func (h *ProvinceHandler) Upload(ctx context.Context, from eventstore.Position) (UploadReport, error) {
	records, holders, until, more, err := h.Records(ctx, from)
	if err != nil {
		return UploadReport{}, err
	}
	port, err := h.link.get()
	if err != nil {
		return UploadReport{}, err
	}
	rep := UploadReport{From: from.String(), Until: until.String(), More: more, Holders: holders, Records: len(records), Rejected: []UploadRejection{}}
	for chunk := range slices.Chunk(records, 500) {
		rejected, err := port.Upload(ctx, chunk)
		if err != nil {
			return UploadReport{}, fmt.Errorf("province upload after %s: %w", from, err)
		}
		rep.Rejected = append(rep.Rejected, rejected...)
	}
	return rep, nil
}
