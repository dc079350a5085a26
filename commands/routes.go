package commands

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// Request bodies. Field names are the public contract; a field without
// omitempty is required (the OpenAPI document says so; see httpapi's
// schema.go), one with omitempty may be left out (it has a default or is
// optional).
type (
	registerBody struct {
		IDNumber      string     `json:"id_number"`
		Name          string     `json:"name"`
		Sex           domain.Sex `json:"sex,omitempty"` // default: from the ID number
		Nationality   string     `json:"nationality"`
		RegionCode    string     `json:"region_code"`
		Phone         string     `json:"phone,omitempty"`
		EmployerCode  string     `json:"employer_code,omitempty"`
		CommunityCode string     `json:"community_code,omitempty"`
	}
	applyBody struct {
		Source   domain.ApplicationSource `json:"source"`
		BankCode string                   `json:"bank_code,omitempty"` // default: the calling bank's; required for source bank or batch
		PhotoRef string                   `json:"photo_ref,omitempty"`
		// FeeExemption claims a replacement fee exemption the counter
		// checked, for an application replacing a cancelled card.
		FeeExemption domain.FeeExemption `json:"fee_exemption,omitempty"`
	}
	instantIssueBody struct {
		BankCode  string `json:"bank_code,omitempty"` // default: the calling bank's
		AccountNo string `json:"account_no"`          // may be left out when the pending application has an account at this bank
		ChipID    string `json:"chip_id"`
		Agency    string `json:"agency,omitempty"`
	}
	bankAccountBody struct {
		BankCode  string `json:"bank_code,omitempty"` // default: the calling bank's
		AccountNo string `json:"account_no"`
	}
	bankRefusalBody struct {
		BankCode string `json:"bank_code,omitempty"` // default: the calling bank's
		Reason   string `json:"reason"`
	}
	reasonBody struct {
		Reason string `json:"reason,omitempty"`
	}
	failureBody struct {
		Reason string `json:"reason"`
	}
	productionBody struct {
		ChipID string `json:"chip_id"`
		Vendor string `json:"vendor,omitempty"`
	}
	handoverBody struct {
		From    string `json:"from"`
		To      string `json:"to"`
		Handler string `json:"handler"`
	}
	issueBody struct {
		Agency string `json:"agency,omitempty"` // default: the calling client
	}
	cancelBody struct {
		Cause  domain.CancelCause `json:"cause,omitempty"` // default: request
		Reason string             `json:"reason,omitempty"`
	}
	replaceBody struct {
		Source   domain.ApplicationSource `json:"source,omitempty"` // default: the caller's channel
		BankCode string                   `json:"bank_code,omitempty"`
		PhotoRef string                   `json:"photo_ref,omitempty"`
		Reason   string                   `json:"reason,omitempty"`
		// Generation of the new card: second (default) or third; a
		// migrated holder's first-generation card is replaced so.
		Generation domain.Generation `json:"generation,omitempty"`
		// FeeExemption claims a replacement fee exemption the counter
		// checked: hardship (特困/低保 certificate) or card_defect;
		// elderly needs no claim (docs/fees.md).
		FeeExemption domain.FeeExemption `json:"fee_exemption,omitempty"`
	}
	ecardRevocationBody struct {
		Cause  domain.ECardRevocationCause `json:"cause,omitempty"`  // default: request
		Reason string                      `json:"reason,omitempty"` // required when cause is other
	}
	transferBody struct {
		ToRegion string `json:"to_region"`
		Reason   string `json:"reason,omitempty"`
	}
	emptyBody struct{}
)

// Who may call what (RoleAdmin may call everything).
var (
	rolesCounter     = []httpapi.Role{httpapi.RoleCounter}
	rolesBank        = []httpapi.Role{httpapi.RoleBank}
	rolesCounterBank = []httpapi.Role{httpapi.RoleCounter, httpapi.RoleBank}
	rolesReaders     = []httpapi.Role{httpapi.RoleAuditor, httpapi.RoleCounter}
	rolesAdmin       = []httpapi.Role{httpapi.RoleAdmin}
)

// appsServingHolders are the open-platform app types that serve holders
// for the city through a third party (the seed's 通过第三方向服务对象提供卡申请、
// 卡挂失): registering a holder, applying for a card and a temporary loss,
// nothing that issues or cancels a card. Apps carry no region scope: they
// act city-wide.
var appsServingHolders = []string{domain.AppIdentityReading}

// forApps lets apps of types call r (httpapi.Route.AppTypes).
func forApps(r httpapi.Route, types ...string) httpapi.Route {
	r.AppTypes = types
	return r
}

// routes is the one table of the command API.
func (a *API) routes() []httpapi.Route {
	return slices.Concat(a.cardRoutes(), a.ecardRoutes(), a.legacyRoutes(), a.correctionRoutes(), a.photoRoutes(), a.provinceRoutes(),
		a.notificationRoutes())
}

// cardRoutes are the rows of the card's life at counters and banks.
func (a *API) cardRoutes() []httpapi.Route {
	return []httpapi.Route{
		commandRoute(a, httpapi.Route{
			Method: http.MethodPost, Path: "/v1/cardholders", Roles: rolesCounterBank, Status: http.StatusCreated,
			Summary: "Register a cardholder (一人一号); the id derives from the ID number. With CARDLEDGER_POLICE_URL set, " +
				"name and ID number are checked with the police first (police_identity_mismatch, police_identity_not_found; " +
				"police_unavailable, police_timeout, police_bad_answer when the source fails: nothing is recorded) and the " +
				"police photo is registered with the person (PhotoCollected)",
			AppTypes: appsServingHolders,
			Request: registerBody{IDNumber: "44030419900307123X", Name: "张三", Sex: domain.Male, Nationality: "CHN",
				RegionCode: "440304", Phone: "13800138000", EmployerCode: "E1001", CommunityCode: "C2002"},
			Responses: policeProblems,
		}, false, func(ctx context.Context, c echo.Context, env Envelope, b registerBody) (Result, error) {
			return a.register(ctx, env, domain.RegisterCardholder{
				IDNumber: b.IDNumber, Name: b.Name, Sex: b.Sex, Nationality: b.Nationality, RegionCode: b.RegionCode,
				Phone: b.Phone, EmployerCode: b.EmployerCode, CommunityCode: b.CommunityCode,
			})
		}),

		commandRoute(a, httpapi.Route{
			Method: http.MethodPost, Path: "/v1/cardholders/{id}/applications", Roles: rolesCounterBank, Status: http.StatusCreated,
			Summary: "Apply for a card (申领). photo_ref names the holder's current photo or is left out to use it " +
				"(photo_not_collected otherwise); with CARDLEDGER_POLICE_URL set, a counter application checks the holder " +
				"with the police first and, when the holder has no photo, takes the police photo (PhotoCollected). " +
				"After a cancellation the application is a replacement and records the replacement fee (fee_exemption as for /replacement)",
			Request:   applyBody{Source: domain.SourceCounter, BankCode: "102", PhotoRef: examplePhotoRef},
			Responses: policeProblems,
			AppTypes:  appsServingHolders,
		}, false, func(ctx context.Context, c echo.Context, env Envelope, b applyBody) (Result, error) {
			p, _ := httpapi.PrincipalFrom(c)
			holder := c.Param("id")
			if b.Source == domain.SourceCounter {
				var err error
				if env, err = a.beforeCounterApplication(ctx, env, holder, b.PhotoRef); err != nil {
					return Result{}, err
				}
			}
			return a.svc.Cardholder.Handle(ctx, CardholderCommand{Envelope: env, CardholderID: holder,
				Command: domain.ApplyForCard{ApplicationID: ApplicationIDFor(env.CommandID), Source: b.Source,
					BankCode: orDefault(b.BankCode, p.Bank), PhotoRef: b.PhotoRef, Fee: a.replacementFee(b.FeeExemption)}})
		}),
		holderRoute(a, "/bank-account", "Record the bank account opened for the pending application (预开户)", rolesBank, http.StatusOK, false,
			bankAccountBody{BankCode: "102", AccountNo: "6212260200012345678"},
			func(env Envelope, p httpapi.Principal, b bankAccountBody) domain.CardholderCommand {
				return domain.OpenBankAccount{BankCode: orDefault(b.BankCode, p.Bank), AccountNo: b.AccountNo}
			}),
		holderRoute(a, "/bank-account-refusal", "Record that the bank refused the account", rolesBank, http.StatusOK, false,
			bankRefusalBody{BankCode: "102", Reason: "identity check failed"},
			func(env Envelope, p httpapi.Principal, b bankRefusalBody) domain.CardholderCommand {
				return domain.RefuseBankAccount{BankCode: orDefault(b.BankCode, p.Bank), Reason: b.Reason}
			}),
		commandRoute(a, httpapi.Route{
			Method: http.MethodPost, Path: "/v1/cardholders/{id}/card-number", Roles: rolesCounter,
			Summary: "Assign a new unique card number to the pending application", Request: emptyBody{},
		}, true, func(ctx context.Context, c echo.Context, env Envelope, _ emptyBody) (Result, error) {
			return a.svc.AssignNumber.Handle(ctx, AssignNumber{Envelope: env, CardholderID: c.Param("id")})
		}),
		commandRoute(a, httpapi.Route{
			Method: http.MethodPost, Path: "/v1/cardholders/{id}/instant-issuance", Roles: rolesBank,
			Summary: "Bank counter instant issuance (即时制卡): apply if needed, open the account, assign, produce, issue and activate. " +
				"account_no and chip_id are the bank's (the account it opened, the chip its writer read) and required; " +
				"account_no may be left out when the pending application already has an account at this bank. " +
				"Opening a replacement application itself, it records the replacement fee; one due (not exempted) is refused " +
				"replacement_fee_unpaid, as is a pending application whose fee is unpaid: apply for the replacement, pay, then issue",
			Request: instantIssueBody{BankCode: "102", AccountNo: "6212260200012345678", ChipID: "0123456789abcdef0123456789abcdef", Agency: "102-shenzhen-futian"},
		}, false, func(ctx context.Context, c echo.Context, env Envelope, b instantIssueBody) (Result, error) {
			p, _ := httpapi.PrincipalFrom(c)
			return a.svc.InstantIssue.Handle(ctx, InstantIssue{Envelope: env, CardholderID: c.Param("id"),
				BankCode: orDefault(b.BankCode, p.Bank), AccountNo: b.AccountNo, ChipID: b.ChipID, Agency: b.Agency,
				Fee: a.replacementFee("")})
		}),

		cardRoute(a, "/production", "Record that the vendor produced the card (制卡成功)", rolesCounter, false,
			productionBody{ChipID: "0123456789abcdef0123456789abcdef", Vendor: "vendor-1"},
			func(no string, _ Envelope, _ httpapi.Principal, b productionBody) domain.CardholderCommand {
				return domain.RecordProduction{CardNo: no, ChipID: b.ChipID, Vendor: b.Vendor}
			}),
		cardRoute(a, "/production-failure", "Record that production failed (制卡失败)", rolesCounter, false,
			failureBody{Reason: "chip personalisation failed"},
			func(no string, _ Envelope, _ httpapi.Principal, b failureBody) domain.CardholderCommand {
				return domain.RecordProductionFailure{CardNo: no, Reason: b.Reason}
			}),
		cardRoute(a, "/handovers", "Record a custody handover of the physical card (卡片交接)", rolesCounter, false,
			handoverBody{From: "vendor", To: "outlet-futian", Handler: "王五"},
			func(no string, _ Envelope, _ httpapi.Principal, b handoverBody) domain.CardholderCommand {
				return domain.HandOverCard{CardNo: no, From: b.From, To: b.To, Handler: b.Handler}
			}),
		cardRoute(a, "/issue", "Issue the card to its holder (发放)", rolesCounterBank, true,
			issueBody{Agency: "outlet-futian"},
			func(no string, _ Envelope, p httpapi.Principal, b issueBody) domain.CardholderCommand {
				return domain.IssueCard{CardNo: no, On: a.now(), Agency: orDefault(b.Agency, p.Client)}
			}),
		cardRoute(a, "/activation", "Activate the card (启用)", rolesCounterBank, true, emptyBody{},
			func(no string, _ Envelope, _ httpapi.Principal, _ emptyBody) domain.CardholderCommand {
				return domain.ActivateCard{CardNo: no}
			}),
		cardRoute(a, "/loss", "Report the card lost (正式挂失)", rolesCounterBank, true, reasonBody{Reason: "lost on the bus"},
			func(no string, _ Envelope, _ httpapi.Principal, b reasonBody) domain.CardholderCommand {
				return domain.ReportLoss{CardNo: no, Reason: b.Reason}
			}),
		forApps(cardRoute(a, "/temporary-loss", "Report the card temporarily lost (临时挂失)", rolesCounterBank, true, reasonBody{Reason: "cannot find it"},
			func(no string, _ Envelope, _ httpapi.Principal, b reasonBody) domain.CardholderCommand {
				return domain.ReportTemporaryLoss{CardNo: no, Reason: b.Reason}
			}), appsServingHolders...),
		cardRoute(a, "/unlock", "Lift a formal or temporary loss (解挂)", rolesCounterBank, true, reasonBody{Reason: "found it"},
			func(no string, _ Envelope, _ httpapi.Principal, b reasonBody) domain.CardholderCommand {
				return domain.UnlockCard{CardNo: no, Reason: b.Reason}
			}),
		cardRoute(a, "/cancellation", "Cancel the card (注销); cause defaults to request", rolesCounter, true,
			cancelBody{Cause: domain.CauseRequest, Reason: "holder asked"},
			func(no string, _ Envelope, _ httpapi.Principal, b cancelBody) domain.CardholderCommand {
				return domain.CancelCard{CardNo: no, Cause: b.Cause, Reason: b.Reason}
			}),
		cardRoute(a, "/restoration", "Undo a cancellation (注销还原)", rolesCounter, true, reasonBody{Reason: "cancelled by mistake"},
			func(no string, _ Envelope, _ httpapi.Principal, b reasonBody) domain.CardholderCommand {
				return domain.RestoreCancellation{CardNo: no, Reason: b.Reason}
			}),
		commandRoute(a, httpapi.Route{
			Method: http.MethodPost, Path: "/v1/cards/{card_no}/replacement", Roles: rolesCounterBank,
			Summary: "Replace the card (补换卡): cancel it and apply for a new one; source defaults to the caller's channel. " +
				"photo_ref as for applications; a counter replacement is checked with the police as a counter application is. " +
				"With a replacement fee configured, records ReplacementFeeAssessed: exempted (elderly by age, or the claimed fee_exemption) " +
				"or due, holding production until the non-tax POS reports it paid (docs/fees.md)",
			Request: replaceBody{Source: domain.SourceCounter, BankCode: "102", PhotoRef: examplePhotoRef, Reason: "damaged",
				Generation: domain.GenerationThird},
			Responses: policeProblems,
		}, true, func(ctx context.Context, c echo.Context, env Envelope, b replaceBody) (Result, error) {
			p, _ := httpapi.PrincipalFrom(c)
			no := c.Param("card_no")
			source := orDefault(b.Source, defaultSource(p))
			if source == domain.SourceCounter && a.identity != nil {
				holder, err := a.svc.CardNumbers.Resolve(ctx, no)
				if err != nil {
					return Result{}, err
				}
				if env, err = a.beforeCounterApplication(ctx, env, holder, b.PhotoRef); err != nil {
					return Result{}, err
				}
			}
			return a.svc.Card.Handle(ctx, CardCommand{Envelope: env, CardNo: no, Command: domain.ReplaceCard{CardNo: no,
				ApplicationID: ApplicationIDFor(env.CommandID), Source: source, BankCode: orDefault(b.BankCode, p.Bank),
				PhotoRef: b.PhotoRef, Reason: b.Reason, Generation: b.Generation, Fee: a.replacementFee(b.FeeExemption)}})
		}),
		cardRoute(a, "/pin-reset", "Record a PIN reset (重置密码); never carries a PIN", rolesCounterBank, true, emptyBody{},
			func(no string, _ Envelope, _ httpapi.Principal, _ emptyBody) domain.CardholderCommand {
				return domain.ResetPIN{CardNo: no}
			}),
		cardRoute(a, "/pin-change", "Record a PIN change (修改密码); never carries a PIN", rolesCounterBank, true, emptyBody{},
			func(no string, _ Envelope, _ httpapi.Principal, _ emptyBody) domain.CardholderCommand {
				return domain.ChangePIN{CardNo: no}
			}),
		cardRoute(a, "/transfer", "Transfer the holder's card to another city (地市卡转移)", rolesCounter, false,
			transferBody{ToRegion: "110105", Reason: "moved to Beijing"},
			func(no string, _ Envelope, _ httpapi.Principal, b transferBody) domain.CardholderCommand {
				return domain.TransferOut{CardNo: no, ToRegion: b.ToRegion, Reason: b.Reason}
			}),
		cardRoute(a, "/ecard", "Issue the e-card (电子社保卡) of an active card", rolesCounter, true, emptyBody{},
			func(no string, _ Envelope, _ httpapi.Principal, _ emptyBody) domain.CardholderCommand {
				return domain.IssueECard{CardNo: no}
			}),
		cardRoute(a, "/ecard/revocation", "Revoke the e-card; cause is request (the default), misuse or other (with a reason)",
			rolesCounter, true, ecardRevocationBody{Cause: domain.ECardCauseRequest, Reason: "holder asked"},
			func(no string, _ Envelope, _ httpapi.Principal, b ecardRevocationBody) domain.CardholderCommand {
				return domain.RevokeECard{CardNo: no, Cause: b.Cause, Reason: b.Reason}
			}),
		a.erasureRoute(),

		{
			Method: http.MethodGet, Path: "/v1/cardholders/{id}/history", Roles: rolesReaders,
			Summary: "Every event of the cardholder in stream order; ETag is the current revision",
			Handler: a.cardholderHistory, Responses: []httpapi.Response{etagOK(exampleHistory), notFound},
		},
		{
			Method: http.MethodGet, Path: "/v1/cards/{card_no}/history", Roles: rolesReaders,
			Summary: "The events of one card in stream order; ETag is the holder's current revision",
			Handler: a.cardHistory, Responses: []httpapi.Response{etagOK(exampleHistory), notFound},
		},
		{
			Method: http.MethodGet, Path: "/v1/cardholders/{id}/state", Roles: rolesReaders,
			Summary: "The cardholder's state, rebuilt from its events; ?as_of=<RFC3339> gives the state at that instant",
			Handler: a.state, Responses: []httpapi.Response{etagOK(exampleState), notFound},
			Params: []httpapi.Param{httpapi.Query("as_of", "The instant (RFC 3339) of the state; default now", "2026-03-01T09:30:00+08:00")},
		},
	}
}

// holderRoute is a row for a domain command addressed by cardholder id:
// one append to the holder's stream (oneAppendRoute).
func holderRoute[B any](a *API, path, summary string, roles []httpapi.Role, status int, optional bool, example B,
	build func(env Envelope, p httpapi.Principal, body B) domain.CardholderCommand) httpapi.Route {
	return oneAppendRoute(a, httpapi.Route{
		Method: http.MethodPost, Path: "/v1/cardholders/{id}" + path, Roles: roles, Status: status,
		Summary: summary, Request: example,
	}, optional, func(ctx context.Context, c echo.Context, env Envelope, b B) (Result, error) {
		p, _ := httpapi.PrincipalFrom(c)
		return a.svc.Cardholder.Handle(ctx, CardholderCommand{Envelope: env, CardholderID: c.Param("id"), Command: build(env, p, b)})
	})
}

// cardRoute is a row for a domain command addressed by card number: a
// read of the card's holder, then one append to the holder's stream
// (oneAppendRoute).
func cardRoute[B any](a *API, path, summary string, roles []httpapi.Role, optional bool, example B,
	build func(cardNo string, env Envelope, p httpapi.Principal, body B) domain.CardholderCommand) httpapi.Route {
	return oneAppendRoute(a, httpapi.Route{
		Method: http.MethodPost, Path: "/v1/cards/{card_no}" + path, Roles: roles,
		Summary: summary, Request: example,
	}, optional, func(ctx context.Context, c echo.Context, env Envelope, b B) (Result, error) {
		p, _ := httpapi.PrincipalFrom(c)
		no := c.Param("card_no")
		return a.svc.Card.Handle(ctx, CardCommand{Envelope: env, CardNo: no, Command: build(no, env, p, b)})
	})
}

func orDefault[T ~string](v, def T) T {
	if v == "" {
		return def
	}
	return v
}

func defaultSource(p httpapi.Principal) domain.ApplicationSource {
	if p.Role == httpapi.RoleBank {
		return domain.SourceBank
	}
	return domain.SourceCounter
}

func (a *API) now() time.Time { return a.svc.Repository.Now() }
