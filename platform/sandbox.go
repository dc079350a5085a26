package platform

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// The sandbox (issue 15 item 3): every app also gets a credential of a
// sandbox tenant, a complete second set of services over a database of its
// own (cmd/cardledger builds it with the server's own composition root).
// The credential is an api_clients row of that database, named
// "sandbox-app-<app id>"; a signed request whose X-CL-Client starts with
// SandboxClientPrefix is served by the sandbox, every other one by
// production. So the selection needs no lookup, and production's
// authenticator never sees a sandbox credential (nor the sandbox's a
// production one).

// SandboxClientPrefix starts every sandbox client's name; it selects the sandbox.
const SandboxClientPrefix = "sandbox-"

// IsSandboxRequest reports whether r is signed by a sandbox client.
func IsSandboxRequest(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get(httpapi.HeaderClient), SandboxClientPrefix)
}

// Sandbox is the sandbox tenant as the platform needs it: its clients
// database, opened (created, migrated, seeded) on first use.
type Sandbox interface {
	Pool(ctx context.Context) (*pgxpool.Pool, error)
	// CredentialsChanged says a sandbox credential was rotated or revoked:
	// the sandbox's authenticator forgets what it cached at once.
	CredentialsChanged()
}

// SandboxCredential is an app's sandbox client and signing secret, shown once.
type SandboxCredential struct {
	Client string `json:"client"`
	Secret string `json:"secret"`
}

// WithSandbox gives every app a sandbox credential made, rotated and
// revoked with its own; nil (the default) makes none. It returns a.
func (a *API) WithSandbox(s Sandbox) *API {
	a.sandbox = s
	return a
}

func sandboxClient(appID string) string { return SandboxClientPrefix + appClientPrefix + appID }

// sandboxCredential gives the app of row a sandbox credential with a new
// secret: it makes the sandbox's app row and client, or rotates the
// client's secret when it exists (a retried creation, a rotation). nil
// without a sandbox.
func (a *API) sandboxCredential(ctx context.Context, row appRow) (*SandboxCredential, error) {
	if a.sandbox == nil {
		return nil, nil
	}
	pool, err := a.sandbox.Pool(ctx)
	if err != nil {
		return nil, sandboxUnavailable(err)
	}
	row.Client = sandboxClient(row.AppID)
	if err := putApp(ctx, pool, row); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	secret, err := auth.RotateSecret(ctx, pool, row.Client, a.secrets)
	if errors.Is(err, auth.ErrNoClient) {
		secret, err = auth.AddSealed(ctx, pool, auth.Client{Name: row.Client, Role: httpapi.RoleApp, Account: row.AccountID,
			AppType: row.Type, Auth: httpapi.MethodHMAC}, a.secrets)
	}
	if err != nil {
		return nil, fmt.Errorf("sandbox credential of app %s: %w", row.AppID, err)
	}
	a.sandbox.CredentialsChanged()
	return &SandboxCredential{Client: row.Client, Secret: secret}, nil
}

// sandboxPublicKey makes the app's sandbox client check key too (making
// the client first if it is missing): the app tests the signing code it
// will use in production, and since the client name is signed, a sandbox
// request never verifies in production. "" without a sandbox.
func (a *API) sandboxPublicKey(ctx context.Context, row appRow, key ed25519.PublicKey) (string, error) {
	if a.sandbox == nil {
		return "", nil
	}
	pool, err := a.sandbox.Pool(ctx)
	if err != nil {
		return "", sandboxUnavailable(err)
	}
	row.Client = sandboxClient(row.AppID)
	if err := putApp(ctx, pool, row); err != nil {
		return "", fmt.Errorf("sandbox: %w", err)
	}
	err = auth.SetPublicKey(ctx, pool, row.Client, key)
	if errors.Is(err, auth.ErrNoClient) {
		if _, err = auth.AddSealed(ctx, pool, auth.Client{Name: row.Client, Role: httpapi.RoleApp, Account: row.AccountID,
			AppType: row.Type, Auth: httpapi.MethodHMAC}, a.secrets); err == nil {
			err = auth.SetPublicKey(ctx, pool, row.Client, key)
		}
	}
	if err != nil {
		return "", fmt.Errorf("sandbox public key of app %s: %w", row.AppID, err)
	}
	a.sandbox.CredentialsChanged()
	return row.Client, nil
}

// revokeSandbox revokes the app's sandbox credential, if any.
func (a *API) revokeSandbox(ctx context.Context, appID string) error {
	if a.sandbox == nil {
		return nil
	}
	pool, err := a.sandbox.Pool(ctx)
	if err != nil {
		return sandboxUnavailable(err)
	}
	err = auth.Revoke(ctx, pool, sandboxClient(appID))
	if err != nil && !errors.Is(err, auth.ErrRevoked) && !errors.Is(err, auth.ErrNoClient) {
		return fmt.Errorf("revoke sandbox credential of app %s: %w", appID, err)
	}
	a.sandbox.CredentialsChanged()
	return nil
}

// sandboxUnavailable: the sandbox could not be opened; nothing of the
// request's production part is lost (retrying it is safe), so 503.
func sandboxUnavailable(err error) error {
	return fmt.Errorf("%w: %w", err, httpapi.NewProblem(http.StatusServiceUnavailable, httpapi.CodeUnavailable,
		"the sandbox is unavailable; retry"))
}
