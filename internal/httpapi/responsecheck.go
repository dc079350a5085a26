package httpapi

import (
	"testing"

	"github.com/labstack/echo/v4"
)

// ResponseChecker builds the middleware that checks every answer of a
// server against doc, the server's own OpenAPI document; templates maps
// echo paths (/v1/cards/:card_no) to the document's (/v1/cards/{card_no}).
// An error means the document itself is invalid.
type ResponseChecker func(doc []byte, templates map[string]string) (echo.MiddlewareFunc, error)

var responseCheck ResponseChecker

// SetResponseCheck installs the check of every server NewServer builds in
// a test binary. Package internal/httpapi/openapitest calls it when a test
// imports it; production code never does (the validator is not linked in).
func SetResponseCheck(f ResponseChecker) { responseCheck = f }

// installResponseCheck makes every HTTP test validate each response it
// receives against the document, so that drift between handlers and the
// document fails the build. In a test binary without the check it
// panics, naming what to import, so no package's tests can skip it.
func installResponseCheck(e *echo.Echo, doc []byte, templates map[string]string) {
	if !testing.Testing() {
		return
	}
	if responseCheck == nil {
		panic("httpapi: a test builds a server without the OpenAPI response check; add " +
			`import _ "github.com/cardledger/cardledger/internal/httpapi/openapitest" to the package's tests`)
	}
	mw, err := responseCheck(doc, templates)
	if err != nil {
		panic("httpapi: the OpenAPI document is invalid: " + err.Error())
	}
	e.Use(mw)
}
