package payments

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/deliveries"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/ecard"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/platform"
)

// Problem codes of the payment routes that are not the domain's.
const (
	CodeBankUnavailable = "bank_unavailable" // 502: the bank did not decide; nothing recorded
	CodeOrderBusy       = "order_busy"       // 409: another request is paying or refunding the order
	CodeMerchantScope   = "merchant_scope"   // 403: the merchant belongs to another account
)

// Deps are what the payment routes need.
type Deps struct {
	Store  eventstore.Store
	Pool   *pgxpool.Pool   // order locks and the platform's apps
	Codes  *ecard.Service  // payment codes and the holders paying
	Notify *deliveries.API // the merchants' notifications
	Bank   Bank            // the bank port
	Clock  func() time.Time
	// AllowPrivate lets notify_url name loopback and private addresses
	// (CARDLEDGER_DELIVERY_ALLOW_PRIVATE, as for subscriptions).
	AllowPrivate bool
	Log          logrus.FieldLogger
}

// API serves merchants and payment orders.
type API struct {
	d         Deps
	merchants *commands.Pipeline[*domain.Merchant, domain.MerchantCommand]
	orders    *commands.Pipeline[*domain.PaymentOrder, domain.PaymentOrderCommand]
}

// NewAPI checks d and returns the API.
func NewAPI(d Deps) (*API, error) {
	if d.Store == nil || d.Pool == nil || d.Codes == nil || d.Notify == nil || d.Bank == nil || d.Clock == nil {
		return nil, errors.New("payments: API needs a store, a pool, the e-card codes, the notifications, a bank and a clock")
	}
	if d.Log == nil {
		d.Log = logrus.StandardLogger()
	}
	merchants, err := commands.NewPipeline(domain.Merchants, d.Store, d.Clock)
	if err != nil {
		return nil, err
	}
	orders, err := commands.NewPipeline(domain.PaymentOrders, d.Store, d.Clock)
	if err != nil {
		return nil, err
	}
	return &API{d: d, merchants: merchants, orders: orders}, nil
}

// caller is who calls, as the payment routes see it.
type caller struct {
	p     httpapi.Principal
	appID string // set for an app
}

func callerOf(c echo.Context) caller {
	p, _ := httpapi.PrincipalFrom(c)
	out := caller{p: p}
	if p.Role == httpapi.RoleApp {
		out.appID, _ = platform.AppIDOf(p.Client)
	}
	return out
}

func (k caller) admin() bool { return k.p.Role == httpapi.RoleAdmin }

// needApp refuses a caller that is not an app (an administrator passes
// every role check but has no merchant to act for).
func (k caller) needApp() error {
	if k.appID == "" {
		return httpapi.NewProblem(http.StatusForbidden, CodeMerchantScope, "only a financial-payment app acts for a merchant")
	}
	return nil
}

// sees: an administrator sees every merchant, an account (its integrator
// or its apps) its own.
func (k caller) sees(m *domain.Merchant) error {
	if m.Status == domain.MerchantStatusNone {
		return problem(domain.NotFound(domain.CodeMerchantNotFound, "no such merchant"))
	}
	if k.admin() || (k.p.Account != "" && k.p.Account == m.AccountID) {
		return nil
	}
	// Another account's merchant is not found, not forbidden: ids are not
	// secrets, but existence is nobody else's business.
	return problem(domain.NotFound(domain.CodeMerchantNotFound, "no such merchant"))
}

// envelope says who sent the command; its id is the Idempotency-Key's, so
// a retried command appends nothing twice.
func envelope(c echo.Context) commands.Envelope {
	p, _ := httpapi.PrincipalFrom(c)
	env := commands.NewEnvelope(domain.Actor{Client: p.Client, CertSubject: p.Subject}, "http")
	if key := c.Request().Header.Get(commands.HeaderIdempotencyKey); key != "" {
		env.CommandID = commands.CommandIDFor(p.Client, key)
	}
	env.CorrelationID, env.CausationID, env.RemoteAddr = httpapi.CorrelationID(c), httpapi.RequestID(c), c.RealIP()
	return env
}

// problem turns domain refusals into problems (commands.ProblemFor).
func problem(err error) error {
	if p := commands.ProblemFor(err); p != nil {
		return p
	}
	return err
}

func (a *API) loadMerchant(ctx context.Context, id string) (*domain.Merchant, error) {
	if id == "" {
		return &domain.Merchant{}, nil
	}
	l, err := a.merchants.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	return l.State, nil
}

func (a *API) now() time.Time { return a.d.Clock().UTC() }

func bankProblem(err error) error {
	if errors.Is(err, ErrBankUnavailable) {
		return httpapi.NewProblem(http.StatusBadGateway, CodeBankUnavailable,
			"the bank did not decide; nothing was recorded, retry: the bank counts a repeated request once")
	}
	return fmt.Errorf("payments: bank: %w", err)
}
