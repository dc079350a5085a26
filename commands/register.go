package commands

import (
	"context"
	"errors"

	"github.com/cardledger/cardledger/domain"
)

// Register registers a person. Cardholder.CardholderID is ignored: the id
// is derived from the ID number, so one person has one stream.
type Register struct {
	Envelope
	Cardholder domain.RegisterCardholder
}

// RegisterHandler handles Register.
type RegisterHandler struct {
	repo  *Repository
	idKey []byte
}

// MinIDKeyLen is the shortest accepted HMAC key for cardholder ids.
const MinIDKeyLen = 16

// NewRegisterHandler needs the HMAC key that derives cardholder ids from ID
// numbers (see domain.CardholderIDFor); changing the key orphans every
// stream, so it comes from configuration, never from code.
func NewRegisterHandler(repo *Repository, idKey []byte) (*RegisterHandler, error) {
	if repo == nil {
		return nil, errors.New("commands: register handler needs a repository")
	}
	if len(idKey) < MinIDKeyLen {
		return nil, errors.New("commands: register handler needs a cardholder id key of at least 16 bytes")
	}
	return &RegisterHandler{repo: repo, idKey: idKey}, nil
}

// Handle appends CardholderRegistered, or refuses with already_registered
// when the person has a stream.
func (h *RegisterHandler) Handle(ctx context.Context, cmd Register) (Result, error) {
	c := cmd.Cardholder
	c.IDNumber = domain.NormalizeIDNumber(c.IDNumber)
	if err := domain.ValidateIDNumber(c.IDNumber); err != nil {
		// Refuse before reading a stream named after a number that cannot be.
		c.CardholderID = "-"
		if _, derr := domain.Decide(domain.NewCardholder(""), c); derr != nil {
			return Result{}, derr
		}
		return Result{}, domain.Invalid(domain.FieldError{Field: "id_number", Code: domain.CodeInvalidIDNumber, Message: err.Error()})
	}
	c.CardholderID = domain.CardholderIDFor(h.idKey, c.IDNumber)
	return h.repo.Update(ctx, c.CardholderID, cmd.Expected, cmd.Envelope, func(s *domain.Cardholder) ([]domain.Event, error) {
		return domain.Decide(s, c)
	})
}

// IDFor is the cardholder id of the person with ID number idNumber (as
// Handle derives it), or the field error an impossible number gets.
func (h *RegisterHandler) IDFor(idNumber string) (string, error) {
	n := domain.NormalizeIDNumber(idNumber)
	if err := domain.ValidateIDNumber(n); err != nil {
		return "", domain.Invalid(domain.FieldError{Field: "id_number", Code: domain.CodeInvalidIDNumber, Message: err.Error()})
	}
	return domain.CardholderIDFor(h.idKey, n), nil
}
