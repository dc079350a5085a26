package commands

import (
	"context"
	"errors"
	"net/http"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/identity"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/photos"
)

// Problem codes of the identity check (CARDLEDGER_POLICE_URL). A refusal
// comes before anything is written: never a half-registered person.
const (
	CodePoliceIdentityMismatch = "police_identity_mismatch"  // 422: the name is not the ID number's
	CodePoliceIdentityNotFound = "police_identity_not_found" // 422: the ID number is not in the database
	CodePoliceUnavailable      = "police_unavailable"        // 503: unreachable or failing
	CodePoliceTimeout          = "police_timeout"            // 504: no answer in time
	CodePoliceBadAnswer        = "police_bad_answer"         // 502: an answer outside the protocol
)

// WithIdentity makes registrations and counter applications check the
// person's name and ID number against src and take the photo it has; nil
// turns the check off.
func (a *API) WithIdentity(src identity.Source) *API {
	a.identity = src
	return a
}

// WithPhotos stores uploaded and fetched photos in store; without it the
// photo routes answer 503 photo_store_off and no photo is fetched.
func (a *API) WithPhotos(store *photos.Store) *API {
	a.photos = store
	return a
}

// policeProblem is the answer to a failed identity check.
func policeProblem(err error) error {
	switch {
	case errors.Is(err, identity.ErrMismatch):
		return httpapi.Unprocessable(CodePoliceIdentityMismatch, "the police population database has another name for this ID number",
			httpapi.FieldError{Field: "name", Code: CodePoliceIdentityMismatch, Message: "not the name the police hold for the ID number"})
	case errors.Is(err, identity.ErrNotFound):
		return httpapi.Unprocessable(CodePoliceIdentityNotFound, "the ID number is not in the police population database",
			httpapi.FieldError{Field: "id_number", Code: CodePoliceIdentityNotFound, Message: "unknown to the police"})
	case errors.Is(err, identity.ErrUnavailable):
		return httpapi.NewProblem(http.StatusServiceUnavailable, CodePoliceUnavailable,
			"the police identity source is unavailable; nothing was recorded, retry later")
	case errors.Is(err, identity.ErrTimeout):
		return httpapi.NewProblem(http.StatusGatewayTimeout, CodePoliceTimeout,
			"the police identity source did not answer in time; nothing was recorded, retry later")
	case errors.Is(err, identity.ErrBadAnswer):
		return httpapi.NewProblem(http.StatusBadGateway, CodePoliceBadAnswer,
			"the police identity source answered something unreadable; nothing was recorded")
	}
	return err
}

// verifyIdentity checks idNumber and name with the identity source (when
// one is configured) and stores the photo it gives for holder. It returns
// nil, nil when the check is off or the source has no photo (or wantPhoto
// is false).
func (a *API) verifyIdentity(ctx context.Context, holder, idNumber, name string, wantPhoto bool) (*domain.Photo, error) {
	if a.identity == nil {
		return nil, nil
	}
	img, err := a.identity.Verify(ctx, idNumber, name)
	if err != nil {
		a.log.WithError(err).WithField("cardholder_id", holder).Warn("identity check refused or failed")
		return nil, policeProblem(err)
	}
	if !wantPhoto || len(img) == 0 || a.photos == nil {
		return nil, nil
	}
	p, err := a.photos.Put(ctx, holder, img, domain.PhotoFromPolice)
	var r *photos.Refusal
	if errors.As(err, &r) {
		return nil, httpapi.NewProblem(http.StatusBadGateway, CodePoliceBadAnswer,
			"the police identity source's photo is no card photo ("+r.Code+"): "+r.Message)
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// register is POST /v1/cardholders: the registration checked with the
// identity source first (after its own fields, before anything is
// written), registered together with the source's photo.
func (a *API) register(ctx context.Context, env Envelope, c domain.RegisterCardholder) (Result, error) {
	if a.identity != nil {
		id, err := a.svc.Register.IDFor(c.IDNumber)
		if err != nil {
			return a.svc.Register.Handle(ctx, Register{Envelope: env, Cardholder: c}) // its own refusal
		}
		dry := c
		dry.CardholderID = id
		if _, err := domain.Decide(domain.NewCardholder(id), dry); err != nil {
			return Result{}, err // the body's own fields, as without the check
		}
		loaded, err := a.svc.Repository.Load(ctx, id)
		if err != nil {
			return Result{}, err
		}
		if !loaded.State.Registered { // else already_registered (or a replay) below
			if c.Photo, err = a.verifyIdentity(ctx, id, domain.NormalizeIDNumber(c.IDNumber), c.Name, true); err != nil {
				return Result{}, err
			}
		}
	}
	return a.svc.Register.Handle(ctx, Register{Envelope: env, Cardholder: c})
}

// beforeCounterApplication runs before an application made at a counter:
// the holder is checked with the identity source and, when the
// application names no photo and the holder has none, the source's photo
// becomes the holder's current photo (PhotoCollected, its own append, which
// the application then carries). It returns the envelope the application
// goes on with (its If-Match moved past the photo).
func (a *API) beforeCounterApplication(ctx context.Context, env Envelope, holder, photoRef string) (Envelope, error) {
	if a.identity == nil {
		return env, nil
	}
	if err := checkCardholderID(holder); err != nil {
		return env, err
	}
	loaded, err := a.svc.Repository.Load(ctx, holder)
	if err != nil {
		return env, err
	}
	s := loaded.State
	if err := checkScope(env.Scope, s); err != nil {
		return env, err
	}
	if !s.Registered || s.Erased {
		return env, nil // the command refuses the one; the other has no name left to check
	}
	needPhoto := photoRef == "" && (s.Photo == nil || s.Photo.Ref == domain.ErasedMarker)
	photo, err := a.verifyIdentity(ctx, holder, s.Profile.IDNumber, s.Profile.Name, needPhoto)
	if err != nil || photo == nil {
		return env, err
	}
	collect := env
	collect.CommandID = IDFor("police-photo", env.CommandID)
	res, err := a.svc.Cardholder.Handle(ctx, CardholderCommand{Envelope: collect, CardholderID: holder,
		Command: domain.CollectPhoto{Photo: *photo}})
	if err != nil {
		return env, err
	}
	if env.Expected != nil && len(res.Events) > 0 {
		rev := res.Revision
		env.Expected = &rev
	}
	return env, nil
}
