package readapi

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/internal/httpapi"
)

// checkScope refuses (403 scope_region / scope_bank) a record outside the
// caller's scope: the holder of stream must be registered in the caller's
// region, and the card (cardNo, or the holder's current card when cardNo is
// "") must be of the caller's bank. A holder that is not in the read model
// passes: the handler answers 404 as for everyone.
func (a *API) checkScope(c echo.Context, stream, cardNo string) error {
	p, _ := httpapi.PrincipalFrom(c)
	scope := p.Scope()
	if scope.Unrestricted() {
		return nil
	}
	var region, bank string
	err := a.read.QueryRow(c.Request().Context(), `SELECT h.region_code, coalesce((SELECT k.bank_code FROM `+a.t("cards")+
		` k WHERE k.stream = h.stream AND (k.card_no = $2 OR ($2 = '' AND k.is_current)) LIMIT 1), '')
		FROM `+a.t("cardholders")+` h WHERE h.stream = $1`, stream, cardNo).Scan(&region, &bank)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return scope.Check(region, bank)
}

// checkCardScope is checkScope for a card known by number only.
func (a *API) checkCardScope(c echo.Context, cardNo string) error {
	if p, _ := httpapi.PrincipalFrom(c); p.Scope().Unrestricted() {
		return nil
	}
	var stream string
	err := a.read.QueryRow(c.Request().Context(), `SELECT stream FROM `+a.t("cards")+` WHERE card_no = $1`, cardNo).Scan(&stream)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return a.checkScope(c, stream, cardNo)
}

// scopeFilter is the SQL condition that keeps only rows of cardholders
// (alias h) in the caller's scope: registered in its region, and, for a bank
// client, holding a current card of its bank. Its two parameters are $n and
// $n+1; args are their values.
func (a *API) scopeFilter(c echo.Context, n int) (cond string, args []any) {
	p, _ := httpapi.PrincipalFrom(c)
	cond = fmt.Sprintf(` AND starts_with(h.region_code, $%d) AND ($%d = '' OR EXISTS (SELECT 1 FROM %s k
		WHERE k.stream = h.stream AND k.is_current AND k.bank_code = $%d))`, n, n+1, a.t("cards"), n+1)
	return cond, []any{httpapi.RegionPrefix(p.Region), p.Bank}
}
