package readapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// Cardholder is a person with the current application and local cards.
type Cardholder struct {
	CardholderID  string `json:"cardholder_id"`
	IDNumber      string `json:"id_number"`
	Name          string `json:"name"`
	Sex           string `json:"sex"`
	BirthDate     string `json:"birth_date"`
	Nationality   string `json:"nationality"`
	RegionCode    string `json:"region_code"`
	Phone         string `json:"phone,omitempty"`
	EmployerCode  string `json:"employer_code,omitempty"`
	CommunityCode string `json:"community_code,omitempty"`
	Deceased      bool   `json:"deceased"`
	// MovedTo and MovedFrom link an ID-number change (身份证号码变更,
	// docs/id-number-change.md): the cardholder id the person's history
	// goes on under (this stream is closed), and the one it came from.
	// Either number finds the person: follow the link.
	MovedTo      string       `json:"moved_to,omitempty"`
	MovedFrom    string       `json:"moved_from,omitempty"`
	RegisteredAt *time.Time   `json:"registered_at,omitempty"`
	UpdatedAt    time.Time    `json:"updated_at"`
	Revision     int64        `json:"revision"`
	Application  *Application `json:"current_application,omitempty"`
	CurrentCard  *Card        `json:"current_card"`
	// Cards are the person's cards known to this city (本地卡信息), current and past.
	Cards []Card `json:"cards"`
}

// Application is the current application, before and after numbering.
type Application struct {
	ApplicationID string `json:"application_id"`
	Status        string `json:"status"`
	CardNo        string `json:"card_no,omitempty"`
	LastFailure   string `json:"last_failure,omitempty"`
}

// Card is one numbered card.
type Card struct {
	CardNo        string    `json:"card_no"`
	CardholderID  string    `json:"cardholder_id"`
	ApplicationID string    `json:"application_id"`
	Kind          string    `json:"kind"`
	Source        string    `json:"source"`
	Status        string    `json:"status"`
	Current       bool      `json:"current"`
	Blacklisted   bool      `json:"blacklisted"`
	BankCode      string    `json:"bank_code,omitempty"`
	AccountNo     string    `json:"account_no,omitempty"`
	ChipID        string    `json:"chip_id,omitempty"`
	Vendor        string    `json:"vendor,omitempty"`
	IssuedOn      *string   `json:"issued_on,omitempty"`
	ExpiresOn     *string   `json:"expires_on,omitempty"`
	Agency        string    `json:"agency,omitempty"`
	ECardIssued   bool      `json:"ecard_issued"`
	ECardUsable   bool      `json:"ecard_usable"`
	CancelCause   string    `json:"cancel_cause,omitempty"`
	TransferredTo string    `json:"transferred_to,omitempty"`
	LastFailure   string    `json:"last_failure,omitempty"`
	AppliedAt     time.Time `json:"applied_at"`
	StatusSince   time.Time `json:"status_since"`
	UpdatedAt     time.Time `json:"updated_at"`
	Custody       Custody   `json:"custody"`
	History       []Step    `json:"custody_history,omitempty"`
}

// Custody is where the physical card is and who handled it last.
type Custody struct {
	At      string `json:"at,omitempty"`
	From    string `json:"from,omitempty"`
	Handler string `json:"handler,omitempty"`
}

// Step is one production or custody step with its time.
type Step struct {
	Step    string    `json:"step"`
	At      time.Time `json:"at"`
	CardNo  string    `json:"card_no,omitempty"`
	From    string    `json:"from,omitempty"`
	To      string    `json:"to,omitempty"`
	Handler string    `json:"handler,omitempty"`
	Detail  string    `json:"detail,omitempty"`
}

// Progress is the production progress of one application (制卡进度).
type Progress struct {
	CardholderID  string `json:"cardholder_id"`
	ApplicationID string `json:"application_id"`
	CardNo        string `json:"card_no,omitempty"`
	Status        string `json:"status"`
	LastFailure   string `json:"last_failure,omitempty"`
	Steps         []Step `json:"steps"`
}

// Holding is one person in a holdings or failures list.
type Holding struct {
	CardholderID  string     `json:"cardholder_id"`
	Name          string     `json:"name"`
	EmployerCode  string     `json:"employer_code,omitempty"`
	CommunityCode string     `json:"community_code,omitempty"`
	ApplicationID string     `json:"application_id,omitempty"`
	CardNo        string     `json:"card_no,omitempty"`
	CardStatus    string     `json:"card_status"`
	LastFailure   string     `json:"last_failure,omitempty"`
	FailedAt      *time.Time `json:"failed_at,omitempty"`
}

// HoldingPage is a page of holdings with the group's totals by card status.
type HoldingPage struct {
	Code     string         `json:"code"`
	ByStatus map[string]int `json:"by_status,omitempty"`
	Items    []Holding      `json:"items"`
	// NextCursor fetches the next page; absent on the last one.
	NextCursor string `json:"next_cursor,omitempty"`
}

func (a *API) recordRoutes() []httpapi.Route {
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/v1/cardholders/{id}", Roles: rolesRecords, Handler: a.getCardholder,
			Summary:  "Cardholder by id: basic information, current application and card, and every local card. Accepts min_position.",
			Response: exampleCardholder, Params: minPosition, Responses: notFound},
		{Method: http.MethodGet, Path: "/v1/cardholders", Roles: rolesRecords, Handler: a.findCardholder,
			Summary:  "Cardholder by ID number (?id_number=, required); same body as GET /v1/cardholders/{id}. Accepts min_position.",
			Response: exampleCardholder, Responses: notFound,
			Params: []httpapi.Param{httpapi.Required(httpapi.Query("id_number", "The holder's ID number", "11010519491231002X")), httpapi.MinPosition}},
		{Method: http.MethodGet, Path: "/v1/cards/{card_no}", Roles: rolesRecords, Handler: a.getCard,
			Summary:  "Card by number: status, bank, dates, custody (where the card is, who handled it) and custody history. Accepts min_position.",
			Response: exampleCard, Params: minPosition, Responses: notFound},
		{Method: http.MethodGet, Path: "/v1/cardholders/{id}/progress", Roles: rolesRecords, Handler: a.getProgress,
			Summary: "Production progress (制卡进度) of the current application, or of ?application_id=: each step with its time. Accepts min_position.",
			// Identity-reading apps apply for cards for holders (a third
			// party's 卡申请) and follow them here; the answer holds no
			// personal data, and a cardholder id is a keyed hash only a
			// registration or an ID-number lookup gives out.
			AppTypes: []string{domain.AppIdentityReading},
			Response: exampleProgress, Responses: notFound, Params: []httpapi.Param{
				httpapi.Query("application_id", "An earlier application of the holder; default the current one", "0b8e3c1d-5a7f-4e2b-9c6d-1f2a3b4c5d6e"),
				httpapi.MinPosition}},
		{Method: http.MethodGet, Path: "/v1/employers/{code}/holdings", Roles: rolesRecords, Handler: a.employerHoldings,
			Summary:  "Card holding by employer (单位持卡情况): totals by card status and the employees, paginated by limit (≤1000) and cursor.",
			Response: exampleHoldings, Params: paging},
		{Method: http.MethodGet, Path: "/v1/communities/{code}/holdings", Roles: rolesRecords, Handler: a.communityHoldings,
			Summary:  "Card holding by community/street (社区持卡情况): totals by card status and the residents, paginated by limit (≤1000) and cursor.",
			Response: exampleHoldings, Params: paging},
		{Method: http.MethodGet, Path: "/v1/employers/{code}/production-failures", Roles: rolesRecords, Handler: a.productionFailures,
			Summary:  "Employees whose card production failed and is not yet redone (单位制卡失败人员), with reason and time; paginated by limit and cursor.",
			Response: exampleFailures, Params: paging},
	}
}

const cardholderColumns = `cardholder_id, id_number, name, sex, birth_date, nationality, region_code, phone,
	employer_code, community_code, deceased, registered_at, updated_at, revision,
	application_id, card_no, card_status, last_failure, stream, state`

func (a *API) getCardholder(c echo.Context) error {
	if err := a.consistent(c); err != nil {
		return err
	}
	return a.cardholderResponse(c, c.Param("id"))
}

func (a *API) findCardholder(c echo.Context) error {
	n := domain.NormalizeIDNumber(c.QueryParam("id_number"))
	if n == "" {
		return httpapi.BadRequest(CodeInvalidQuery, "id_number is required",
			httpapi.FieldError{Field: "id_number", Code: "required", Message: "give the 18-character ID number"})
	}
	if err := domain.ValidateIDNumber(n); err != nil {
		return httpapi.BadRequest(CodeInvalidQuery, "id_number is not a valid ID number",
			httpapi.FieldError{Field: "id_number", Code: "invalid_id_number", Message: err.Error()})
	}
	if err := a.consistent(c); err != nil {
		return err
	}
	return a.cardholderResponse(c, domain.CardholderIDFor(a.idKey, n))
}

func (a *API) cardholderResponse(c echo.Context, id string) error {
	ctx := c.Request().Context()
	if err := a.checkScope(c, domain.StreamFor(id), ""); err != nil {
		return err
	}
	var h Cardholder
	var app Application
	var stream string
	var state []byte
	err := a.read.QueryRow(ctx, "SELECT "+cardholderColumns+" FROM "+a.t("cardholders")+" WHERE stream = $1",
		domain.StreamFor(id)).Scan(&h.CardholderID, &h.IDNumber, &h.Name, &h.Sex, &h.BirthDate, &h.Nationality,
		&h.RegionCode, &h.Phone, &h.EmployerCode, &h.CommunityCode, &h.Deceased, &h.RegisteredAt, &h.UpdatedAt,
		&h.Revision, &app.ApplicationID, &app.CardNo, &app.Status, &app.LastFailure, &stream, &state)
	if errors.Is(err, pgx.ErrNoRows) {
		return httpapi.NotFound(domain.CodeCardholderNotFound, "no cardholder with this id")
	}
	if err != nil {
		return err
	}
	if h.MovedTo, h.MovedFrom, err = movedLinks(state); err != nil {
		return fmt.Errorf("cardholder %s: read model state: %w", id, err)
	}
	if app.ApplicationID != "" {
		h.Application = &app
	}
	h.Cards, err = a.cards(ctx, "stream = $1 ORDER BY applied_at, card_no", stream)
	if err != nil {
		return err
	}
	for i := range h.Cards {
		if h.Cards[i].Current {
			h.CurrentCard = &h.Cards[i]
		}
	}
	return c.JSON(http.StatusOK, h)
}

// movedLinks reads the ID-number change links from a read-model state
// (projections/readmodel's holderDoc: the domain state under "state").
func movedLinks(state []byte) (to, from string, err error) {
	var doc struct {
		State struct{ MovedTo, MovedFrom string } `json:"state"`
	}
	if len(state) == 0 {
		return "", "", nil
	}
	if err := json.Unmarshal(state, &doc); err != nil {
		return "", "", err
	}
	return doc.State.MovedTo, doc.State.MovedFrom, nil
}

const cardColumns = `card_no, cardholder_id, application_id, kind, source, status, is_current, bank_code,
	account_no, chip_id, vendor, to_char(issued_on, 'YYYY-MM-DD'), to_char(expires_on, 'YYYY-MM-DD'), agency,
	ecard_issued, cancel_cause, transferred_to, last_failure, applied_at, status_since, updated_at,
	custody_at, custody_from, custody_handler`

func (a *API) cards(ctx context.Context, where string, args ...any) ([]Card, error) {
	rows, err := a.read.Query(ctx, "SELECT "+cardColumns+" FROM "+a.t("cards")+" WHERE "+where, args...)
	if err != nil {
		return nil, err
	}
	cards, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Card, error) {
		var k Card
		err := r.Scan(&k.CardNo, &k.CardholderID, &k.ApplicationID, &k.Kind, &k.Source, &k.Status, &k.Current,
			&k.BankCode, &k.AccountNo, &k.ChipID, &k.Vendor, &k.IssuedOn, &k.ExpiresOn, &k.Agency, &k.ECardIssued,
			&k.CancelCause, &k.TransferredTo, &k.LastFailure, &k.AppliedAt, &k.StatusSince, &k.UpdatedAt,
			&k.Custody.At, &k.Custody.From, &k.Custody.Handler)
		st := domain.CardStatus(k.Status)
		k.Blacklisted = st.Blacklisted()
		k.ECardUsable = k.ECardIssued && (st == domain.StatusIssued || st == domain.StatusActive)
		return k, err
	})
	if cards == nil {
		cards = []Card{}
	}
	return cards, err
}

func (a *API) getCard(c echo.Context) error {
	if err := a.consistent(c); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := a.checkCardScope(c, c.Param("card_no")); err != nil {
		return err
	}
	cards, err := a.cards(ctx, "card_no = $1", c.Param("card_no"))
	if err != nil {
		return err
	}
	if len(cards) == 0 {
		return httpapi.NotFound(domain.CodeCardNotFound, "no card with this number")
	}
	card := cards[0]
	card.History, err = a.steps(ctx, "card_no = $1 AND step IN ('produced', 'handed_over', 'issued')", card.CardNo)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, card)
}

func (a *API) steps(ctx context.Context, where string, args ...any) ([]Step, error) {
	rows, err := a.read.Query(ctx, "SELECT step, at, card_no, from_party, to_party, handler, detail FROM "+
		a.t("steps")+" WHERE "+where+" ORDER BY pos_commit, pos_prepare", args...)
	if err != nil {
		return nil, err
	}
	steps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Step, error) {
		var s Step
		err := r.Scan(&s.Step, &s.At, &s.CardNo, &s.From, &s.To, &s.Handler, &s.Detail)
		return s, err
	})
	if steps == nil {
		steps = []Step{}
	}
	return steps, err
}

func (a *API) getProgress(c echo.Context) error {
	if err := a.consistent(c); err != nil {
		return err
	}
	ctx := c.Request().Context()
	id := c.Param("id")
	if err := a.checkScope(c, domain.StreamFor(id), ""); err != nil {
		return err
	}
	p := Progress{CardholderID: id}
	err := a.read.QueryRow(ctx, "SELECT application_id, card_no, card_status, last_failure FROM "+a.t("cardholders")+
		" WHERE stream = $1", domain.StreamFor(id)).Scan(&p.ApplicationID, &p.CardNo, &p.Status, &p.LastFailure)
	if errors.Is(err, pgx.ErrNoRows) {
		return httpapi.NotFound(domain.CodeCardholderNotFound, "no cardholder with this id")
	}
	if err != nil {
		return err
	}
	if want := c.QueryParam("application_id"); want != "" && want != p.ApplicationID {
		// A past application: its status is its card's, if it got one.
		p = Progress{CardholderID: id, ApplicationID: want, Status: "superseded"}
		err := a.read.QueryRow(ctx, "SELECT card_no, status, last_failure FROM "+a.t("cards")+
			" WHERE stream = $1 AND application_id = $2", domain.StreamFor(id), want).Scan(&p.CardNo, &p.Status, &p.LastFailure)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
	}
	if p.ApplicationID == "" {
		return httpapi.NotFound(CodeApplicationAbsent, "the cardholder has not applied for a card")
	}
	p.Steps, err = a.steps(ctx, "application_id = $1 AND stream = $2", p.ApplicationID, domain.StreamFor(id))
	if err != nil {
		return err
	}
	if len(p.Steps) == 0 {
		return httpapi.NotFound(CodeApplicationAbsent, "no such application of this cardholder")
	}
	return c.JSON(http.StatusOK, p)
}

func (a *API) employerHoldings(c echo.Context) error {
	return a.holdings(c, "employer_code")
}

func (a *API) communityHoldings(c echo.Context) error {
	return a.holdings(c, "community_code")
}

// holdings lists the people of one employer or community with their current
// card, and the group's totals by card status ("none" for no application).
func (a *API) holdings(c echo.Context, column string) error {
	pg, err := pageOf(c, 100, 1000)
	if err != nil {
		return err
	}
	if err := a.consistent(c); err != nil {
		return err
	}
	ctx := c.Request().Context()
	code := c.Param("code")
	out := HoldingPage{Code: code, ByStatus: map[string]int{}, Items: []Holding{}}
	scope, scopeArgs := a.scopeFilter(c, 2)
	rows, err := a.read.Query(ctx, "SELECT coalesce(nullif(h.card_status, ''), 'none'), count(*) FROM "+
		a.t("cardholders")+" h WHERE h."+column+" = $1"+scope+" GROUP BY 1", append([]any{code}, scopeArgs...)...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			rows.Close()
			return err
		}
		out.ByStatus[s] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	scope, scopeArgs = a.scopeFilter(c, 4)
	rows, err = a.read.Query(ctx, "SELECT h.cardholder_id, h.name, h.employer_code, h.community_code, h.application_id, h.card_no, "+
		"h.card_status, h.last_failure FROM "+a.t("cardholders")+" h WHERE h."+column+" = $1 AND h.cardholder_id > $2"+scope+
		" ORDER BY h.cardholder_id LIMIT $3", append([]any{code, pg.cursor, pg.limit}, scopeArgs...)...)
	if err != nil {
		return err
	}
	out.Items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Holding, error) {
		var h Holding
		err := r.Scan(&h.CardholderID, &h.Name, &h.EmployerCode, &h.CommunityCode, &h.ApplicationID, &h.CardNo,
			&h.CardStatus, &h.LastFailure)
		if h.CardStatus == "" {
			h.CardStatus = "none"
		}
		return h, err
	})
	if err != nil {
		return err
	}
	if len(out.Items) > 0 {
		out.NextCursor = nextCursor(len(out.Items), pg.limit, out.Items[len(out.Items)-1].CardholderID)
	}
	return c.JSON(http.StatusOK, out)
}

// productionFailures lists employees whose current card failed production
// and has not been produced since: the application is back at "applied"
// with a card number and the failure reason (domain.CardProductionFailed).
func (a *API) productionFailures(c echo.Context) error {
	pg, err := pageOf(c, 100, 1000)
	if err != nil {
		return err
	}
	if err := a.consistent(c); err != nil {
		return err
	}
	ctx := c.Request().Context()
	code := c.Param("code")
	scope, scopeArgs := a.scopeFilter(c, 4)
	rows, err := a.read.Query(ctx, `SELECT h.cardholder_id, h.name, h.employer_code, h.community_code, h.application_id,
		h.card_no, h.card_status, h.last_failure,
		(SELECT max(s.at) FROM `+a.t("steps")+` s WHERE s.card_no = h.card_no AND s.step = 'production_failed')
		FROM `+a.t("cardholders")+` h
		WHERE h.employer_code = $1 AND h.card_status = 'applied' AND h.card_no <> '' AND h.last_failure <> ''
		AND h.cardholder_id > $2`+scope+` ORDER BY h.cardholder_id LIMIT $3`, append([]any{code, pg.cursor, pg.limit}, scopeArgs...)...)
	if err != nil {
		return err
	}
	out := HoldingPage{Code: code}
	out.Items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Holding, error) {
		var h Holding
		err := r.Scan(&h.CardholderID, &h.Name, &h.EmployerCode, &h.CommunityCode, &h.ApplicationID, &h.CardNo,
			&h.CardStatus, &h.LastFailure, &h.FailedAt)
		return h, err
	})
	if err != nil {
		return err
	}
	if out.Items == nil {
		out.Items = []Holding{}
	}
	if len(out.Items) > 0 {
		out.NextCursor = nextCursor(len(out.Items), pg.limit, out.Items[len(out.Items)-1].CardholderID)
	}
	return c.JSON(http.StatusOK, out)
}
