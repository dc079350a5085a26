package platform

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// CodeAccountScope: an integrator asked for another account's account or
// apps, or an administrator for what only an account does (403).
const CodeAccountScope = "platform_account_scope"

// DefaultRegistrationsPerHour bounds registrations per remote address.
const DefaultRegistrationsPerHour = 10

// API serves the open platform's accounts, apps and catalogue.
type API struct {
	accounts *commands.Pipeline[*domain.PlatformAccount, domain.PlatformAccountCommand]
	channels *commands.ChannelGate
	db       *pgxpool.Pool
	secrets  *auth.SecretKeys
	clock    func() time.Time
	sandbox  Sandbox // nil: apps get no sandbox credentials
	cache    CredentialCache

	registrationsPerHour int
	catalogue            Catalogue
}

// NewAPI needs the event store (account streams), the clients database
// (credentials, app rows and counters; migrated here) and a clock. secrets
// seals the apps' HMAC secrets (nil: stored in clear, as auth.Add does).
func NewAPI(ctx context.Context, store eventstore.Store, db *pgxpool.Pool, secrets *auth.SecretKeys, clock func() time.Time) (*API, error) {
	if store == nil || db == nil || clock == nil {
		return nil, errors.New("platform: API needs an event store, the clients database and a clock")
	}
	accounts, err := commands.NewPipeline(domain.PlatformAccounts, store, clock)
	if err != nil {
		return nil, err
	}
	channels, err := commands.NewChannelGate(store, clock)
	if err != nil {
		return nil, err
	}
	if err := Migrate(ctx, db); err != nil {
		return nil, err
	}
	return &API{accounts: accounts, channels: channels, db: db, secrets: secrets, clock: clock,
		registrationsPerHour: DefaultRegistrationsPerHour, catalogue: catalogueOf()}, nil
}

// CredentialCache is this process's credential cache (auth.Authenticator).
type CredentialCache interface{ Forget() }

// WithCredentialCache makes a changed app credential (a new secret or key,
// a revocation) take effect at once in this process too, not only when the
// revocation notification arrives (or the cache expires, without a
// listener). It returns a.
func (a *API) WithCredentialCache(c CredentialCache) *API {
	a.cache = c
	return a
}

func (a *API) credentialsChanged() {
	if a.cache != nil {
		a.cache.Forget()
	}
}

// WithRegistrationsPerHour sets the per-address registration limit; it returns a.
func (a *API) WithRegistrationsPerHour(n int) *API {
	if n > 0 {
		a.registrationsPerHour = n
	}
	return a
}

// Request and answer bodies: a field without omitempty is required.
type (
	accountRegistration struct {
		Name       string                `json:"name"`
		CreditCode string                `json:"credit_code"`
		Contact    domain.AccountContact `json:"contact"`
	}
	accountDecision struct {
		Note   string `json:"note,omitempty"`
		Reason string `json:"reason,omitempty"`
	}
	appRequest struct {
		Name      string   `json:"name"`
		Type      string   `json:"type"`
		Channels  []string `json:"channels"`
		PerMinute int      `json:"per_minute"`
		PerDay    int      `json:"per_day"`
	}
	// AccountView is an account as the API shows it.
	AccountView struct {
		ID         string                `json:"id"`
		Status     domain.AccountStatus  `json:"status"`
		Name       string                `json:"name"`
		CreditCode string                `json:"credit_code"`
		Contact    domain.AccountContact `json:"contact"`
		DecidedBy  string                `json:"decided_by,omitempty"`
		Note       string                `json:"note,omitempty"`
		Apps       int                   `json:"apps"`
		Revision   int                   `json:"revision"`
	}
	// Approval is the answer of an approval: the account and its
	// administrator credential, shown once.
	Approval struct {
		Account AccountView `json:"account"`
		Client  string      `json:"client"`
		APIKey  string      `json:"api_key"`
	}
	// AppView is an app as the API shows it.
	AppView struct {
		ID        string   `json:"id"`
		AccountID string   `json:"account_id"`
		Name      string   `json:"name"`
		Type      string   `json:"type"`
		Channels  []string `json:"channels"`
		PerMinute int      `json:"per_minute"`
		PerDay    int      `json:"per_day"`
		Client    string   `json:"client"`
		// SignatureScheme is how the app signs: CL1-HMAC-SHA256 (its
		// secret) or CL1-ED25519 (its own key, PublicKey).
		SignatureScheme string    `json:"signature_scheme"`
		PublicKey       string    `json:"public_key,omitempty"`
		Revoked         bool      `json:"revoked"`
		CreatedAt       time.Time `json:"created_at"`
	}
	publicKeyRequest struct {
		PublicKey string `json:"public_key"`
	}
	// AppPublicKey answers a key registration: the app, and the sandbox
	// client that now checks the same key.
	AppPublicKey struct {
		App     AppView `json:"app"`
		Client  string  `json:"client"`
		Sandbox string  `json:"sandbox_client,omitempty"`
	}
	// AppCredential is an app with its signing secret, shown once, and
	// its sandbox credential when the server has a sandbox.
	AppCredential struct {
		App     AppView            `json:"app"`
		Client  string             `json:"client"`
		Secret  string             `json:"secret"`
		Sandbox *SandboxCredential `json:"sandbox,omitempty"`
	}
	// AppList is an account's apps.
	AppList struct {
		Apps []AppView `json:"apps"`
	}
	// Usage is an app's counters in the current windows.
	Usage struct {
		AppID  string      `json:"app_id"`
		Minute UsageWindow `json:"minute"`
		Day    UsageWindow `json:"day"`
	}
	// UsageWindow is one window's count and limit.
	UsageWindow struct {
		Start time.Time `json:"start"`
		End   time.Time `json:"end"`
		Used  int       `json:"used"`
		Limit int       `json:"limit"`
	}
)

var (
	rolesAdmin      = []httpapi.Role{httpapi.RoleAdmin}
	rolesIntegrator = []httpapi.Role{httpapi.RoleIntegrator}
)

// Routes is the route table of the open platform.
func (a *API) Routes() []httpapi.Route {
	at := time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC)
	contact := domain.AccountContact{Name: "王工", Phone: "13800000000", Email: "wang@example.com"}
	account := AccountView{ID: "5f0c1f5e-0b7e-4c43-9b8f-1a2b3c4d5e6f", Status: domain.AccountPending, Name: "济宁某某信息技术有限公司",
		CreditCode: "91350100M000100Y43", Contact: contact, Revision: 1}
	approved := account
	approved.Status, approved.DecidedBy, approved.Revision = domain.AccountApproved, "city-admin", 2
	rejected := account
	rejected.Status, rejected.DecidedBy, rejected.Note, rejected.Revision = domain.AccountRejected, "city-admin", "营业执照不符", 2
	app := AppView{ID: "8a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d", AccountID: account.ID, Name: "门诊身份核验",
		Type: domain.AppIdentityReading, Channels: []string{domain.AppChannelCard, domain.AppChannelECardQR},
		PerMinute: 600, PerDay: 100000, Client: "app-8a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
		SignatureScheme: httpapi.SignatureScheme, CreatedAt: at}
	keyed := app
	keyed.SignatureScheme, keyed.PublicKey = httpapi.SignatureSchemeEd25519, "iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w="
	credential := AppCredential{App: app, Client: app.Client, Secret: "cls_3q2+7w…",
		Sandbox: &SandboxCredential{Client: "sandbox-" + app.Client, Secret: "cls_Zp4q…"}}
	command := []httpapi.Param{httpapi.IdempotencyKey}
	refusals := httpapi.Problems(http.StatusNotFound, http.StatusConflict)
	return append([]httpapi.Route{
		{Method: http.MethodPost, Path: "/v1/platform/accounts", Status: http.StatusCreated,
			Summary: "An organisation registers an integrator account (账号注册); no key, limited per address " +
				"(429 registration_rate_limited); the unified social credit code's check character is verified, and the " +
				"code names the account: one per organisation",
			Request:  accountRegistration{Name: account.Name, CreditCode: account.CreditCode, Contact: contact},
			Response: account, Handler: a.register,
			Responses: append(httpapi.Problems(http.StatusTooManyRequests), httpapi.Response{Status: http.StatusConflict,
				Description: "credit_code_registered: the organisation (its unified social credit code) has an account pending " +
					"or approved; after a rejection it registers again, as the same account"})},
		{Method: http.MethodPost, Path: "/v1/platform/accounts/{id}/approval", Roles: rolesAdmin,
			Summary: "An administrator approves the account; the answer holds the account's integrator key, shown once",
			Request: accountDecision{Note: "资料齐全"}, RequestOptional: true, Params: command, Responses: refusals,
			Response: Approval{Account: approved, Client: "integrator-" + account.ID, APIKey: "clk_9dj2…"}, Handler: a.approve},
		{Method: http.MethodPost, Path: "/v1/platform/accounts/{id}/rejection", Roles: rolesAdmin,
			Summary: "An administrator rejects the account",
			Request: accountDecision{Reason: "营业执照不符"}, RequestOptional: true, Params: command, Responses: refusals,
			Response: rejected, Handler: a.reject},
		{Method: http.MethodGet, Path: "/v1/platform/accounts/{id}", Roles: rolesIntegrator,
			Summary: "The account (an integrator: its own only)", Response: approved, Handler: a.getAccount,
			Responses: httpapi.Problems(http.StatusNotFound)},
		{Method: http.MethodPost, Path: "/v1/platform/apps", Roles: rolesIntegrator, Status: http.StatusCreated,
			Summary: "The account creates an app of a type, serving channels, with quotas; the answer holds its " +
				"client name and HMAC signing secret, and its sandbox client and secret, shown once (应用创建、渠道选择)",
			Request: appRequest{Name: app.Name, Type: app.Type, Channels: app.Channels, PerMinute: app.PerMinute, PerDay: app.PerDay},
			Params:  command, Response: credential, Handler: a.createApp, Responses: refusals},
		{Method: http.MethodGet, Path: "/v1/platform/apps", Roles: rolesIntegrator,
			Summary: "The account's apps", Response: AppList{Apps: []AppView{app}}, Handler: a.listApps},
		{Method: http.MethodGet, Path: "/v1/platform/apps/{id}", Roles: rolesIntegrator,
			Summary: "One app of the account", Response: app, Handler: a.getApp, Responses: httpapi.Problems(http.StatusNotFound)},
		{Method: http.MethodPost, Path: "/v1/platform/apps/{id}/secret", Roles: rolesIntegrator,
			Summary: "Rotate the app's signing secret and its sandbox credential's: the new ones are shown once, the old ones stop working",
			Params:  command, Response: credential, Handler: a.rotate, Responses: refusals},
		{Method: http.MethodPut, Path: "/v1/platform/apps/{id}/public-key", Roles: rolesIntegrator,
			Summary: "Register the app's own Ed25519 public key (base64 of the raw 32 bytes): from then on the app signs with " +
				"its private key (scheme CL1-ED25519) and its HMAC secret or previous key stops working; its sandbox client " +
				"checks the same key. A new key rotates it; POST …/secret goes back to an HMAC secret",
			Request: publicKeyRequest{PublicKey: keyed.PublicKey}, Params: command,
			Response: AppPublicKey{App: keyed, Client: app.Client, Sandbox: "sandbox-" + app.Client},
			Handler:  a.setPublicKey, Responses: refusals},
		{Method: http.MethodPut, Path: "/v1/platform/apps/{id}/channels", Roles: rolesIntegrator,
			Summary: "The account changes the channels its app serves (渠道选择): the whole new list. The same list again records nothing",
			Request: channelsRequest{Channels: []string{domain.AppChannelCard, domain.AppChannelECardOnline}}, Params: command,
			Response: func() AppView {
				v := app
				v.Channels = []string{domain.AppChannelCard, domain.AppChannelECardOnline}
				return v
			}(),
			Handler: a.setChannels, Responses: refusals},
		{Method: http.MethodPut, Path: "/v1/platform/apps/{id}/quotas", Roles: rolesAdmin,
			Summary: "An administrator changes the app's quotas (they are contractual); every instance counts against the new " +
				"ones from the answer on, in the current windows. The same quotas again record nothing",
			Request: quotasRequest{PerMinute: 1200, PerDay: 200000}, Params: command,
			Response: func() AppView { v := app; v.PerMinute, v.PerDay = 1200, 200000; return v }(),
			Handler:  a.setQuotas, Responses: refusals},
		{Method: http.MethodPost, Path: "/v1/platform/apps/{id}/revocation", Roles: rolesIntegrator,
			Summary: "Revoke the app: its credential and its sandbox credential stop working, for good",
			Params:  command, Response: func() AppView { v := app; v.Revoked = true; return v }(), Handler: a.revoke, Responses: refusals},
		{Method: http.MethodGet, Path: "/v1/platform/apps/{id}/usage", Roles: rolesIntegrator,
			Summary: "The app's requests counted in the current minute and Beijing-time day, with its quotas",
			Response: Usage{AppID: app.ID, Minute: UsageWindow{Start: at, End: at.Add(time.Minute), Used: 12, Limit: 600},
				Day: UsageWindow{Start: time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 5, 16, 0, 0, 0, time.UTC),
					Used: 3187, Limit: 100000}},
			Handler: a.usage, Responses: httpapi.Problems(http.StatusNotFound)},
		{Method: http.MethodGet, Path: "/v1/platform/catalogue",
			Summary:  "The operations each app type may call (标准 API 服务), made from the route tables",
			Response: exampleCatalogue(), Handler: a.getCatalogue},
	}, a.channelRoutes()...)
}

func (a *API) register(c echo.Context) error {
	var b accountRegistration
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	ctx := c.Request().Context()
	now := a.clock()
	full, err := spend(ctx, a.db, "register:"+c.RealIP(), windowOf("hour", now, a.registrationsPerHour))
	if err != nil {
		return err
	}
	if full != nil {
		p := httpapi.NewProblem(http.StatusTooManyRequests, CodeRegistrationRateLimited,
			fmt.Sprintf("at most %d registrations per hour from one address", full.Limit))
		p.RetryAfter = max(1, int(full.End.Sub(now).Seconds()+0.999))
		return p
	}
	env := commands.NewEnvelope(domain.Actor{Client: "platform-registration"}, "http")
	env.CorrelationID, env.CausationID, env.RemoteAddr = httpapi.CorrelationID(c), httpapi.RequestID(c), c.RealIP()
	id := AccountIDFor(b.CreditCode)
	cmd := domain.RegisterPlatformAccount{AccountID: id, Name: b.Name, CreditCode: b.CreditCode, Contact: b.Contact, At: now.UTC()}
	l, err := a.run(ctx, id, env, cmd)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, accountView(l.State))
}

// AccountIDFor is the account id of an organisation: it derives from its
// unified social credit code, so the code registered again finds the same
// stream (409 credit_code_registered while that account is pending or
// approved), however many instances take the registrations at once.
func AccountIDFor(creditCode string) string {
	return commands.IDFor("platform-account-credit-code", uuid.NewSHA1(uuid.Nil, []byte(creditCode))).String()
}

func (a *API) approve(c echo.Context) error { return a.decide(c, true) }
func (a *API) reject(c echo.Context) error  { return a.decide(c, false) }

func (a *API) decide(c echo.Context, approve bool) error {
	var b accountDecision
	if err := httpapi.DecodeOptionalJSON(c, &b); err != nil {
		return err
	}
	p, _ := httpapi.PrincipalFrom(c)
	ctx := c.Request().Context()
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		return notFound()
	}
	current, err := a.accounts.Load(ctx, id)
	if err != nil {
		return err
	}
	client := integratorClient(id)
	if approve && current.State.Status == domain.AccountApproved {
		// A crash between the append and the credential: make it now.
		if _, err := auth.Get(ctx, a.db, client); errors.Is(err, auth.ErrNoClient) {
			return a.approved(c, current.State)
		}
	}
	var cmd domain.PlatformAccountCommand = domain.RejectPlatformAccount{By: p.Client, Reason: b.Reason, At: a.clock().UTC()}
	if approve {
		cmd = domain.ApprovePlatformAccount{By: p.Client, Note: b.Note, At: a.clock().UTC()}
	}
	l, err := a.run(ctx, id, a.envelope(c), cmd)
	if err != nil {
		return err
	}
	if approve {
		return a.approved(c, l.State)
	}
	return c.JSON(http.StatusOK, accountView(l.State))
}

// approved makes the account's integrator credential and answers with it.
func (a *API) approved(c echo.Context, s *domain.PlatformAccount) error {
	client := integratorClient(s.ID)
	key, err := auth.Add(c.Request().Context(), a.db, auth.Client{Name: client, Role: httpapi.RoleIntegrator, Account: s.ID})
	if errors.Is(err, auth.ErrClientExists) {
		return httpapi.NewProblem(http.StatusConflict, domain.CodeAccountDecided, "the account is approved and its key was issued")
	}
	if err != nil {
		return fmt.Errorf("integrator credential of %s: %w", s.ID, err)
	}
	return c.JSON(http.StatusOK, Approval{Account: accountView(s), Client: client, APIKey: key})
}

func (a *API) getAccount(c echo.Context) error {
	id := c.Param("id")
	if err := a.owns(c, id); err != nil {
		return err
	}
	if _, err := uuid.Parse(id); err != nil {
		return notFound()
	}
	l, err := a.accounts.Load(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if l.State.Status == domain.AccountNone {
		return notFound()
	}
	return c.JSON(http.StatusOK, accountView(l.State))
}

func (a *API) createApp(c echo.Context) error {
	var b appRequest
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	p, _ := httpapi.PrincipalFrom(c)
	if p.Account == "" {
		return httpapi.NewProblem(http.StatusForbidden, CodeAccountScope, "apps are created with the account's integrator key")
	}
	ctx := c.Request().Context()
	env := a.envelope(c)
	appID := commands.IDFor("platform-app", env.CommandID).String()
	cmd := domain.CreatePlatformApp{AppID: appID, Name: b.Name, Type: b.Type, Channels: b.Channels,
		PerMinute: b.PerMinute, PerDay: b.PerDay, By: p.Client, At: a.clock().UTC()}
	l, err := a.run(ctx, p.Account, env, cmd)
	if err != nil {
		return err
	}
	app, _ := l.State.App(appID)
	row := appRowOf(p.Account, *app)
	if err := putApp(ctx, a.db, row); err != nil {
		return err
	}
	if _, err := auth.Get(ctx, a.db, row.Client); err == nil {
		// The same command again (its Idempotency-Key): the secrets were shown
		// once, and the sandbox's is left as it was.
		return httpapi.NewProblem(http.StatusConflict, domain.CodeAppExists, "the app exists; rotate its secret to get a new one")
	}
	// The sandbox's before production's: a sandbox outage refuses the
	// request before the secret shown once is made, and a retry (same
	// Idempotency-Key) appends nothing twice and completes both.
	sandbox, err := a.sandboxCredential(ctx, row)
	if err != nil {
		return err
	}
	secret, err := auth.AddSealed(ctx, a.db, auth.Client{Name: row.Client, Role: httpapi.RoleApp, Account: p.Account,
		AppType: app.Type, Auth: httpapi.MethodHMAC}, a.secrets)
	if errors.Is(err, auth.ErrClientExists) {
		// The same command again (its Idempotency-Key): the secret was shown once.
		return httpapi.NewProblem(http.StatusConflict, domain.CodeAppExists, "the app exists; rotate its secret to get a new one")
	}
	if err != nil {
		return fmt.Errorf("credential of app %s: %w", appID, err)
	}
	return c.JSON(http.StatusCreated, AppCredential{App: appView(p.Account, *app), Client: row.Client, Secret: secret, Sandbox: sandbox})
}

func (a *API) listApps(c echo.Context) error {
	p, _ := httpapi.PrincipalFrom(c)
	if p.Account == "" {
		return httpapi.NewProblem(http.StatusForbidden, CodeAccountScope, "an account's apps are listed with its integrator key")
	}
	l, err := a.accounts.Load(c.Request().Context(), p.Account)
	if err != nil {
		return err
	}
	out := AppList{Apps: []AppView{}}
	for _, app := range l.State.Apps {
		out.Apps = append(out.Apps, appView(p.Account, app))
	}
	return c.JSON(http.StatusOK, out)
}

// ownedApp finds app {id} and checks the caller may see it.
func (a *API) ownedApp(c echo.Context) (appRow, error) {
	row, err := getApp(c.Request().Context(), a.db, c.Param("id"))
	if errors.Is(err, errNoApp) {
		return appRow{}, problem(domain.NotFound(domain.CodeAppNotFound, "no such app"))
	}
	if err != nil {
		return appRow{}, err
	}
	return row, a.owns(c, row.AccountID)
}

func (a *API) getApp(c echo.Context) error {
	row, err := a.ownedApp(c)
	if err != nil {
		return err
	}
	l, err := a.accounts.Load(c.Request().Context(), row.AccountID)
	if err != nil {
		return err
	}
	app, ok := l.State.App(row.AppID)
	if !ok {
		return problem(domain.NotFound(domain.CodeAppNotFound, "no such app"))
	}
	return c.JSON(http.StatusOK, appView(row.AccountID, *app))
}

func (a *API) rotate(c echo.Context) error {
	row, err := a.ownedApp(c)
	if err != nil {
		return err
	}
	p, _ := httpapi.PrincipalFrom(c)
	ctx := c.Request().Context()
	l, err := a.run(ctx, row.AccountID, a.envelope(c), domain.RotatePlatformAppKey{AppID: row.AppID, By: p.Client, At: a.clock().UTC()})
	if err != nil {
		return err
	}
	sandbox, err := a.sandboxCredential(ctx, row)
	if err != nil {
		return err
	}
	secret, err := auth.RotateSecret(ctx, a.db, row.Client, a.secrets)
	if err != nil {
		return fmt.Errorf("rotate secret of app %s: %w", row.AppID, err)
	}
	a.credentialsChanged()
	app, _ := l.State.App(row.AppID)
	return c.JSON(http.StatusOK, AppCredential{App: appView(row.AccountID, *app), Client: row.Client, Secret: secret, Sandbox: sandbox})
}

func (a *API) setPublicKey(c echo.Context) error {
	row, err := a.ownedApp(c)
	if err != nil {
		return err
	}
	var b publicKeyRequest
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	p, _ := httpapi.PrincipalFrom(c)
	ctx := c.Request().Context()
	l, err := a.run(ctx, row.AccountID, a.envelope(c),
		domain.RegisterPlatformAppPublicKey{AppID: row.AppID, PublicKey: b.PublicKey, By: p.Client, At: a.clock().UTC()})
	if err != nil {
		return err
	}
	app, _ := l.State.App(row.AppID)
	// The recorded key, not the body's: a retry with the same
	// Idempotency-Key appends nothing and completes what a crash left.
	key, err := domain.ParseEd25519PublicKey(app.PublicKey)
	if err != nil {
		return fmt.Errorf("public key of app %s: %w", row.AppID, err)
	}
	sandbox, err := a.sandboxPublicKey(ctx, row, key)
	if err != nil {
		return err
	}
	if err := auth.SetPublicKey(ctx, a.db, row.Client, key); err != nil {
		return fmt.Errorf("public key of app %s: %w", row.AppID, err)
	}
	a.credentialsChanged()
	return c.JSON(http.StatusOK, AppPublicKey{App: appView(row.AccountID, *app), Client: row.Client, Sandbox: sandbox})
}

// appRowOf is the platform_apps row of app, as its stream says.
func appRowOf(account string, app domain.PlatformApp) appRow {
	return appRow{AppID: app.ID, AccountID: account, Client: appClientPrefix + app.ID, Type: app.Type,
		PerMinute: app.PerMinute, PerDay: app.PerDay, Channels: slices.Clone(app.Channels)}
}

type (
	channelsRequest struct {
		Channels []string `json:"channels"`
	}
	quotasRequest struct {
		PerMinute int `json:"per_minute"`
		PerDay    int `json:"per_day"`
	}
)

// setChannels is PUT /v1/platform/apps/{id}/channels: the account changes
// the channels its app serves.
func (a *API) setChannels(c echo.Context) error {
	var b channelsRequest
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	row, err := a.ownedApp(c)
	if err != nil {
		return err
	}
	p, _ := httpapi.PrincipalFrom(c)
	return a.changeApp(c, row, domain.ChangePlatformAppChannels{AppID: row.AppID, Channels: b.Channels, By: p.Client, At: a.clock().UTC()})
}

// setQuotas is PUT /v1/platform/apps/{id}/quotas: an administrator changes
// the app's quotas (contractual, so not the account's own to set).
func (a *API) setQuotas(c echo.Context) error {
	var b quotasRequest
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	row, err := a.ownedApp(c)
	if err != nil {
		return err
	}
	p, _ := httpapi.PrincipalFrom(c)
	return a.changeApp(c, row, domain.ChangePlatformAppQuotas{AppID: row.AppID, PerMinute: b.PerMinute, PerDay: b.PerDay,
		By: p.Client, At: a.clock().UTC()})
}

// changeApp records cmd on the account's stream, then writes the app's
// row (production's, and the sandbox's: its quotas are the app's) from
// the stream: the per-request checks read the row, so the change holds on
// every instance from the answer on. The same change again records
// nothing and writes the rows again, which mends a crash in between.
func (a *API) changeApp(c echo.Context, row appRow, cmd domain.PlatformAccountCommand) error {
	ctx := c.Request().Context()
	l, err := a.run(ctx, row.AccountID, a.envelope(c), cmd)
	if err != nil {
		return err
	}
	app, _ := l.State.App(row.AppID)
	next := appRowOf(row.AccountID, *app)
	if err := putApp(ctx, a.db, next); err != nil {
		return err
	}
	if a.sandbox != nil {
		pool, err := a.sandbox.Pool(ctx)
		if err != nil {
			return sandboxUnavailable(err)
		}
		next.Client = sandboxClient(row.AppID)
		if err := putApp(ctx, pool, next); err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
	}
	return c.JSON(http.StatusOK, appView(row.AccountID, *app))
}

func (a *API) revoke(c echo.Context) error {
	row, err := a.ownedApp(c)
	if err != nil {
		return err
	}
	p, _ := httpapi.PrincipalFrom(c)
	ctx := c.Request().Context()
	l, err := a.run(ctx, row.AccountID, a.envelope(c), domain.RevokePlatformApp{AppID: row.AppID, By: p.Client, At: a.clock().UTC()})
	if err != nil {
		return err
	}
	if err := auth.Revoke(ctx, a.db, row.Client); err != nil && !errors.Is(err, auth.ErrRevoked) {
		return fmt.Errorf("revoke app %s: %w", row.AppID, err)
	}
	a.credentialsChanged()
	if err := a.revokeSandbox(ctx, row.AppID); err != nil {
		return err
	}
	app, _ := l.State.App(row.AppID)
	return c.JSON(http.StatusOK, appView(row.AccountID, *app))
}

func (a *API) usage(c echo.Context) error {
	row, err := a.ownedApp(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	now := a.clock()
	out := Usage{AppID: row.AppID}
	for _, w := range []struct {
		into *UsageWindow
		w    window
	}{{&out.Minute, windowOf("minute", now, row.PerMinute)}, {&out.Day, windowOf("day", now, row.PerDay)}} {
		n, err := used(ctx, a.db, appClientPrefix+row.AppID, w.w)
		if err != nil {
			return err
		}
		*w.into = UsageWindow{Start: w.w.Start, End: w.w.End, Used: n, Limit: w.w.Limit}
	}
	return c.JSON(http.StatusOK, out)
}

// owns: an integrator reaches its own account only; an administrator any.
func (a *API) owns(c echo.Context, account string) error {
	p, _ := httpapi.PrincipalFrom(c)
	if p.Role == httpapi.RoleAdmin || (p.Account != "" && p.Account == account) {
		return nil
	}
	return httpapi.NewProblem(http.StatusForbidden, CodeAccountScope, "this belongs to another account")
}

type loaded = commands.Stream[*domain.PlatformAccount]

// run puts cmd through the write pipeline and reads the account back.
func (a *API) run(ctx context.Context, id string, env commands.Envelope, cmd domain.PlatformAccountCommand) (loaded, error) {
	if _, err := a.accounts.Handle(ctx, id, env, cmd); err != nil {
		return loaded{}, problem(err)
	}
	return a.accounts.Load(ctx, id)
}

// envelope says who sent the command; its id is the Idempotency-Key's, so
// a retried command appends nothing twice.
func (a *API) envelope(c echo.Context) commands.Envelope {
	p, _ := httpapi.PrincipalFrom(c)
	env := commands.NewEnvelope(domain.Actor{Client: p.Client, CertSubject: p.Subject}, "http")
	if key := c.Request().Header.Get(commands.HeaderIdempotencyKey); key != "" {
		env.CommandID = commands.CommandIDFor(p.Client, key)
	}
	env.CorrelationID, env.CausationID, env.RemoteAddr = httpapi.CorrelationID(c), httpapi.RequestID(c), c.RealIP()
	return env
}

func integratorClient(account string) string { return "integrator-" + account }

func accountView(s *domain.PlatformAccount) AccountView {
	return AccountView{ID: s.ID, Status: s.Status, Name: s.Name, CreditCode: s.CreditCode, Contact: s.Contact,
		DecidedBy: s.DecidedBy, Note: s.Note, Apps: len(s.Apps), Revision: s.Version}
}

func appView(account string, app domain.PlatformApp) AppView {
	v := AppView{ID: app.ID, AccountID: account, Name: app.Name, Type: app.Type, Channels: app.Channels,
		PerMinute: app.PerMinute, PerDay: app.PerDay, Client: appClientPrefix + app.ID, Revoked: app.Revoked,
		SignatureScheme: httpapi.SignatureScheme, PublicKey: app.PublicKey, CreatedAt: app.CreatedAt.UTC()}
	if app.PublicKey != "" {
		v.SignatureScheme = httpapi.SignatureSchemeEd25519
	}
	return v
}

func notFound() error {
	return problem(domain.NotFound(domain.CodeAccountNotFound, "no such account"))
}

// problem turns domain refusals into problems (commands.ProblemFor).
func problem(err error) error {
	if p := commands.ProblemFor(err); p != nil {
		return p
	}
	return err
}
