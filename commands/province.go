package commands

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// Province is the provincial card database (省持卡库) as the ledger needs
// it: a port, implemented over HTTP by package province (and played by
// `cardledger simulate province`). Every method is safe to repeat: a
// transfer or cancellation already done answers as done, an upload
// overwrites the same records with the same values. An implementation
// answers ErrProvinceUnavailable (wrapped) when it cannot tell what the
// province said — no answer in time, a 5xx, an answer that is not the
// documented JSON — and a *ProvinceRefusal when the province said no.
type Province interface {
	// Cards returns the province's records of the person's cards.
	Cards(ctx context.Context, idNumber string) ([]ProvinceCard, error)
	// Transfer moves the province's record of cardNo, a card of the person
	// idNumber, to region and returns the record as it is afterwards.
	Transfer(ctx context.Context, idNumber, cardNo, region string) (ProvinceCard, error)
	// CancelRecord cancels the province's record of cardNo, a card of
	// region.
	CancelRecord(ctx context.Context, cardNo, region, reason string) error
	// Upload upserts records of this city's cards; it returns the card
	// numbers the province refused, with its codes.
	Upload(ctx context.Context, records []ProvinceCard) ([]UploadRejection, error)
}

// ProvinceCard is one record of the province: the card and the person it
// belongs to. TransferredFrom is the region a transferred record came from.
type ProvinceCard struct {
	IDNumber string `json:"id_number"`
	Name     string `json:"name,omitempty"`
	domain.ProvincialCard
	TransferredFrom string `json:"transferred_from,omitempty"`
}

// UploadRejection is a record the province refused in an upload.
type UploadRejection struct {
	CardNo  string `json:"card_no"`
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
}

// ErrProvinceUnavailable: the province did not give a usable answer (no
// answer in time, a 5xx, garbage, or no province configured). Nothing was
// recorded here; the caller may retry.
var ErrProvinceUnavailable = errors.New("the provincial card database is unavailable")

// ProvinceRefusal is the province's own refusal (a 4xx with its code).
type ProvinceRefusal struct {
	Status  int
	Code    string
	Message string
}

func (r *ProvinceRefusal) Error() string {
	return fmt.Sprintf("the province refused (%d %s): %s", r.Status, r.Code, r.Message)
}

// Codes of the province's answers as the API passes them on.
const (
	CodeProvinceUnavailable     = "province_unavailable"
	CodeProvinceRefused         = "province_refused"
	CodeProvincialCardNotFound  = "provincial_card_not_found"
	CodeProvinceCardNotFoundRaw = "card_not_found" // the province's own code for an unknown card
)

// provinceProblem maps the port's errors; nil when err is not one.
func provinceProblem(err error) *httpapi.Problem {
	if errors.Is(err, ErrProvinceUnavailable) {
		p := httpapi.NewProblem(http.StatusServiceUnavailable, CodeProvinceUnavailable,
			err.Error()+"; nothing was recorded, retry later")
		return p
	}
	if r, ok := errors.AsType[*ProvinceRefusal](err); ok {
		return httpapi.NewProblem(http.StatusBadGateway, CodeProvinceRefused, r.Error())
	}
	return nil
}

// provinceLink is the service's one handle on the port; nil port: no
// province configured (the first-issue rule is then not checked, and the
// province's routes answer province_unavailable).
type provinceLink struct{ port Province }

func (l *provinceLink) get() (Province, error) {
	if l == nil || l.port == nil {
		return nil, fmt.Errorf("no province configured (CARDLEDGER_PROVINCE_URL): %w", ErrProvinceUnavailable)
	}
	return l.port, nil
}

// UseProvince connects the service to the provincial card database: from
// then on first applications are checked against it (card_held_elsewhere)
// and the province's commands work. Call it before serving.
func (s *Service) UseProvince(p Province) { s.province.port = p }

// heldElsewhere asks the province for the holder's cards when a new
// application would be accepted here (domain.RefuseHeldElsewhere checks
// the answer); no province configured: nothing to check.
func (l *provinceLink) heldElsewhere(ctx context.Context, s *domain.Cardholder) ([]domain.ProvincialCard, error) {
	if l == nil || l.port == nil || !domain.FirstIssueChecked(s) {
		return nil, nil
	}
	cards, err := l.port.Cards(ctx, s.Profile.IDNumber)
	if err != nil {
		return nil, fmt.Errorf("check the province for cards of cardholder %s: %w", s.ID, err)
	}
	out := make([]domain.ProvincialCard, len(cards))
	for i, c := range cards {
		out[i] = c.ProvincialCard
	}
	return out, nil
}

// firstIssueGate wraps decide with the first-issue rule for the commands
// that start a new application.
func (l *provinceLink) firstIssueGate(ctx context.Context, loaded *domain.Cardholder, cmd domain.CardholderCommand,
	decide func(*domain.Cardholder) ([]domain.Event, error)) (func(*domain.Cardholder) ([]domain.Event, error), error) {
	switch cmd.(type) {
	case domain.ApplyForCard, domain.ApplyThroughChannel, domain.InstantIssue:
	default:
		return decide, nil
	}
	held, err := l.heldElsewhere(ctx, loaded)
	if err != nil || len(held) == 0 {
		return decide, err
	}
	return func(s *domain.Cardholder) ([]domain.Event, error) {
		if err := domain.RefuseHeldElsewhere(s, held); err != nil {
			return nil, err
		}
		return decide(s)
	}, nil
}

// RefuseFirstIssueElsewhere applies the first-issue rule to a holder state
// outside a command (the bulk application import decides rows before it
// writes them): the domain's card_held_elsewhere refusal, an
// ErrProvinceUnavailable, or nil (also when no province is configured).
func (s *Service) RefuseFirstIssueElsewhere(ctx context.Context, c *domain.Cardholder) error {
	held, err := s.province.heldElsewhere(ctx, c)
	if err != nil {
		return err
	}
	return domain.RefuseHeldElsewhere(c, held)
}
