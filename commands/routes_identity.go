package commands

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/photos"
)

// idNumberChangeBody is the body of POST /v1/cardholders/{id}/id-number-change.
type idNumberChangeBody struct {
	NewIDNumber string `json:"new_id_number"`
	Reason      string `json:"reason"`
}

// identityRoute is the ID-number change (身份证号码变更,
// docs/id-number-change.md): move_identity on the old stream, then
// register_moved_identity on the new one. A retry after a stop between the
// two continues with the second.
func (a *API) identityRoute() httpapi.Route {
	return commandRoute(a, httpapi.Route{
		Method: http.MethodPost, Path: "/v1/cardholders/{id}/id-number-change", Roles: rolesCounter,
		Summary: "Change the holder's ID number (身份证号码变更): the old stream records IdentityMovedOut (its card in hand " +
			"cancelled for replacement) and refuses further commands (identity_moved); the new number's stream starts with " +
			"IdentityMovedIn, the profile carried over and a replacement application. Answers the new stream",
		Request: idNumberChangeBody{NewIDNumber: "11010519491231002X", Reason: "birth date corrected by the police"},
	}, false, func(ctx context.Context, c echo.Context, env Envelope, b idNumberChangeBody) (Result, error) {
		oldID := c.Param("id")
		if err := checkCardholderID(oldID); err != nil {
			return Result{}, err
		}
		// The body's own fields, named as the body names them.
		var fields []domain.FieldError
		if strings.TrimSpace(b.NewIDNumber) == "" {
			fields = append(fields, domain.FieldError{Field: "new_id_number", Code: domain.CodeRequired, Message: "new_id_number is required"})
		} else if err := domain.ValidateIDNumber(domain.NormalizeIDNumber(b.NewIDNumber)); err != nil {
			fields = append(fields, domain.FieldError{Field: "new_id_number", Code: domain.CodeInvalidIDNumber, Message: err.Error()})
		}
		if strings.TrimSpace(b.Reason) == "" {
			fields = append(fields, domain.FieldError{Field: "reason", Code: domain.CodeRequired, Message: "reason is required"})
		}
		if len(fields) > 0 {
			return Result{}, domain.Invalid(fields...)
		}
		newID, err := a.svc.Register.IDFor(b.NewIDNumber)
		if err != nil {
			return Result{}, err
		}
		old, err := a.svc.Repository.Load(ctx, oldID)
		if err != nil {
			return Result{}, err
		}
		s := old.State
		// The caller's region and bank first, as every command checks them:
		// nothing about a holder out of scope shows through the refusals below.
		if err := checkScope(env.Scope, s); err != nil {
			return Result{}, err
		}
		if !s.Registered {
			return Result{}, domain.NotFound(domain.CodeCardholderNotFound, "cardholder %s is not registered", oldID)
		}
		if s.Erased {
			return Result{}, domain.Conflict(domain.CodeAlreadyErased, "the personal data of cardholder %s is erased: nothing to carry over", oldID)
		}
		next, err := a.svc.Repository.Load(ctx, newID)
		if err != nil {
			return Result{}, err
		}
		if next.State.Registered && next.State.MovedFrom != oldID {
			return Result{}, domain.Conflict(domain.CodeAlreadyRegistered, "the new ID number is registered already")
		}
		if s.MovedTo != newID { // not a retry of a move already recorded
			res, err := a.svc.Repository.Update(ctx, oldID, env.Expected, env, func(st *domain.Cardholder) ([]domain.Event, error) {
				return domain.Decide(st, domain.MoveIdentity{NewCardholderID: newID, Reason: b.Reason})
			})
			if err != nil {
				return Result{}, err
			}
			s = res.State
		}
		replaces := ""
		if s.Card != nil && s.Card.Cancellation != nil && s.Card.Cancellation.Cause == domain.CauseReplacement {
			replaces = s.Card.CardNo
		}
		p := s.Profile
		reg := domain.RegisterCardholder{CardholderID: newID, IDNumber: domain.NormalizeIDNumber(b.NewIDNumber), Name: p.Name,
			Nationality: p.Nationality, RegionCode: p.RegionCode, Phone: p.Phone, EmployerCode: p.EmployerCode, CommunityCode: p.CommunityCode}
		if reg.Photo, err = a.carryPhoto(ctx, s, oldID, newID); err != nil {
			return Result{}, err
		}
		env.Expected = nil
		return a.svc.Repository.Update(ctx, newID, nil, env, func(st *domain.Cardholder) ([]domain.Event, error) {
			return domain.Decide(st, domain.RegisterMovedIdentity{Register: reg, FromCardholderID: oldID, ReplacesCardNo: replaces,
				ApplicationID: ApplicationIDFor(env.CommandID), Reason: b.Reason})
		})
	})
}

// carryPhoto stores the holder's current photo again for the new stream
// (sealed under the new identity's key), so that the new stream's
// replacement card is printed with it; nil when there is none to carry.
func (a *API) carryPhoto(ctx context.Context, s *domain.Cardholder, oldID, newID string) (*domain.Photo, error) {
	if a.photos == nil || s.Photo == nil || !domain.IsPhotoRef(s.Photo.Ref) {
		return nil, nil
	}
	img, err := a.photos.Get(ctx, oldID, s.Photo.Ref)
	if errors.Is(err, photos.ErrNotFound) || errors.Is(err, photos.ErrErased) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p, err := a.photos.Put(ctx, newID, img, s.Photo.Source)
	if err != nil {
		return nil, err
	}
	return &p, nil
}
