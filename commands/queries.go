package commands

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/internal/httpapi"
)

// historyResponse is the body of the history endpoints.
type historyResponse struct {
	Events []HistoryEvent `json:"events"`
}

func (a *API) cardholderHistory(c echo.Context) error {
	if err := a.checkReadScope(c, c.Param("id"), ""); err != nil {
		return err
	}
	events, rev, err := a.svc.History.Cardholder(c.Request().Context(), c.Param("id"))
	if err != nil {
		return a.commandError(err)
	}
	c.Response().Header().Set("ETag", etag(rev))
	return c.JSON(http.StatusOK, historyResponse{Events: events})
}

func (a *API) cardHistory(c echo.Context) error {
	if err := a.checkReadScope(c, "", c.Param("card_no")); err != nil {
		return err
	}
	events, rev, err := a.svc.History.Card(c.Request().Context(), c.Param("card_no"))
	if err != nil {
		return a.commandError(err)
	}
	c.Response().Header().Set("ETag", etag(rev))
	return c.JSON(http.StatusOK, historyResponse{Events: events})
}

func (a *API) state(c echo.Context) error {
	var asOf time.Time // zero: every event, the current state
	if s := c.QueryParam("as_of"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return httpapi.BadRequest(CodeInvalidAsOf, "as_of must be an RFC 3339 time such as 2026-01-02T15:04:05+08:00",
				httpapi.FieldError{Field: "as_of", Code: CodeInvalidAsOf, Message: err.Error()})
		}
		asOf = t
	}
	if err := a.checkReadScope(c, c.Param("id"), ""); err != nil {
		return err
	}
	state, rev, err := a.svc.History.StateAt(c.Request().Context(), c.Param("id"), asOf)
	if err != nil {
		return a.commandError(err)
	}
	c.Response().Header().Set("ETag", etag(rev))
	return c.JSON(http.StatusOK, NewStateView(state, rev))
}
