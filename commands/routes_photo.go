package commands

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/photos"
)

// Problem codes of the photo routes.
const (
	CodePhotoNotFound = "photo_not_found" // 404: the holder has no stored photo
	CodePhotoErased   = "photo_erased"    // 410: erased with the holder's data key
	CodePhotoStoreOff = "photo_store_off" // 503: this server stores no photos
)

// photoBody is the body of POST /v1/cardholders/{id}/photo: the image
// itself, base64 in JSON (a photo is at most photos.CardSpec.MaxBytes).
type photoBody struct {
	Image []byte `json:"image"`
}

const examplePhotoRef = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

var (
	rolesPhotoReaders = []httpapi.Role{httpapi.RoleCounter, httpapi.RoleBank}
	policeProblems    = []httpapi.Response{
		{Status: http.StatusUnprocessableEntity, Description: "The police hold another name for the ID number " +
			"(police_identity_mismatch) or do not know the ID number (police_identity_not_found)"},
		{Status: http.StatusBadGateway, Description: "The police identity source answered outside its protocol, " +
			"or with a photo that is no card photo (police_bad_answer); nothing was recorded"},
		{Status: http.StatusGatewayTimeout, Description: "The police identity source did not answer within " +
			"CARDLEDGER_POLICE_TIMEOUT (police_timeout); nothing was recorded"},
	}
	photoETag    = httpapi.Header("ETag", "The photo's content address", `"`+examplePhotoRef+`"`)
	photoRefused = httpapi.Response{Status: http.StatusUnprocessableEntity, Description: "The image is no card photo: " +
		"photo_type_unsupported (not JPEG or PNG by its first bytes), photo_too_large, photo_bad_dimensions, " +
		"photo_unreadable; errors[0].field is image"}
)

// photoRoutes are photo collection (照片采集维护): the counter uploads a
// photo, the roles that print or check cards fetch it.
func (a *API) photoRoutes() []httpapi.Route {
	return []httpapi.Route{
		commandRoute(a, httpapi.Route{
			Method: http.MethodPost, Path: "/v1/cardholders/{id}/photo", Roles: rolesCounter, Status: http.StatusCreated,
			Summary: "Upload the holder's photo (照片采集): a JPEG or PNG card photo (≤ 100 KiB, portrait, 102–1000 × 126–1250 px), " +
				"base64 in image. It is stored encrypted under the holder's data key at its content address " +
				"sha256:<hex of the image's SHA-256> and becomes the holder's current photo (PhotoCollected), which later " +
				"applications carry; the same image again records nothing new",
			Request:   photoBody{Image: []byte("\xff\xd8\xff\xe0 JPEG bytes")},
			Responses: []httpapi.Response{photoRefused},
		}, false, func(ctx context.Context, c echo.Context, env Envelope, b photoBody) (Result, error) {
			return a.uploadPhoto(ctx, env, c.Param("id"), b.Image)
		}),
		{
			Method: http.MethodGet, Path: "/v1/cardholders/{id}/photo", Roles: rolesPhotoReaders,
			Summary: "The holder's current photo, as stored (image/jpeg or image/png); ETag is its content address. " +
				"404 photo_not_found without one, 410 photo_erased after the holder's erasure",
			Handler: a.photo,
			Responses: []httpapi.Response{
				{Status: http.StatusOK, Body: "<JPEG bytes>", ContentType: "image/jpeg", Headers: []httpapi.Param{photoETag}},
				{Status: http.StatusOK, Body: "<PNG bytes>", ContentType: "image/png", Headers: []httpapi.Param{photoETag}},
				{Status: http.StatusNotFound, Description: "No such cardholder (cardholder_not_found), or no stored photo (photo_not_found)"},
				{Status: http.StatusGone, Description: "The photo was erased with the holder's personal data (photo_erased)"},
			},
		},
	}
}

func (a *API) uploadPhoto(ctx context.Context, env Envelope, holder string, image []byte) (Result, error) {
	if len(image) == 0 {
		return Result{}, domain.Invalid(domain.FieldError{Field: "image", Code: domain.CodeRequired, Message: "image is required"})
	}
	if a.photos == nil {
		return Result{}, httpapi.NewProblem(http.StatusServiceUnavailable, CodePhotoStoreOff, "this server stores no photos")
	}
	if err := checkCardholderID(holder); err != nil {
		return Result{}, err
	}
	// Registered and in the caller's scope before anything is stored.
	loaded, err := a.svc.Repository.Load(ctx, holder)
	if err != nil {
		return Result{}, err
	}
	if err := checkScope(env.Scope, loaded.State); err != nil {
		return Result{}, err
	}
	if !loaded.State.Registered {
		return Result{}, domain.NotFound(domain.CodeCardholderNotFound, "cardholder %s is not registered", holder)
	}
	p, err := a.photos.Put(ctx, holder, image, domain.PhotoFromCounter)
	var r *photos.Refusal
	if errors.As(err, &r) {
		return Result{}, httpapi.Unprocessable(r.Code, r.Message, httpapi.FieldError{Field: "image", Code: r.Code, Message: r.Message})
	}
	if err != nil {
		return Result{}, err
	}
	return a.svc.Cardholder.Handle(ctx, CardholderCommand{Envelope: env, CardholderID: holder, Command: domain.CollectPhoto{Photo: p}})
}

// photo is GET /v1/cardholders/{id}/photo.
func (a *API) photo(c echo.Context) error {
	holder := c.Param("id")
	if err := checkCardholderID(holder); err != nil {
		return a.commandError(err)
	}
	if err := a.checkReadScope(c, holder, ""); err != nil {
		return err
	}
	if a.photos == nil {
		return httpapi.NewProblem(http.StatusServiceUnavailable, CodePhotoStoreOff, "this server stores no photos")
	}
	ctx := c.Request().Context()
	loaded, err := a.svc.Repository.Load(ctx, holder)
	if err != nil {
		return a.commandError(err)
	}
	s := loaded.State
	if !s.Registered {
		return a.commandError(domain.NotFound(domain.CodeCardholderNotFound, "cardholder %s is not registered", holder))
	}
	if s.Photo == nil {
		return httpapi.NotFound(CodePhotoNotFound, "the holder has no stored photo")
	}
	data, err := a.photos.Get(ctx, holder, s.Photo.Ref)
	switch {
	case errors.Is(err, photos.ErrErased):
		return httpapi.NewProblem(http.StatusGone, CodePhotoErased, "the holder's photo was erased with their personal data")
	case errors.Is(err, photos.ErrNotFound):
		return httpapi.NotFound(CodePhotoNotFound, "the holder's photo is not stored")
	case err != nil:
		return err
	}
	c.Response().Header().Set("ETag", `"`+s.Photo.Ref+`"`)
	c.Response().Header().Set("Cache-Control", "no-store") // personal data
	return c.Blob(http.StatusOK, s.Photo.ContentType, data)
}
