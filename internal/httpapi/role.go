package httpapi

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// Role is what an API client may do. The set is closed.
type Role string

const (
	RoleAdmin             Role = "admin"              // everything
	RoleCounter           Role = "counter"            // service counters (社保经办窗口)
	RoleBank              Role = "bank"               // cooperating banks (合作银行)
	RoleAuditor           Role = "auditor"            // read histories and past states
	RoleAnalyst           Role = "analyst"            // aggregate statistics only
	RoleBlacklistConsumer Role = "blacklist-consumer" // hospitals, pharmacies, POS: the blacklist feed
	// RoleDisplay is a hall screen: it may read the dashboard only, and its
	// key is the one key accepted in the URL (?display_token=), on routes
	// that set Route.DisplayToken, because a kiosk browser cannot send headers.
	RoleDisplay Role = "display"
	// RoleChannel is an e-card channel (电子社保卡渠道: the 人社 app, a bank's
	// or a government app). Its client names a channel code
	// (Principal.Channel) and it acts only for holders bound to that channel.
	RoleChannel Role = "channel"
	// RoleTerminal verifies e-card codes at an agency or merchant
	// (Principal.Agency; Principal.Region is where it stands, not a scope).
	RoleTerminal Role = "terminal"
	// RoleIntegrator administers one open-platform account (Principal.Account):
	// its apps, their credentials and usage, and nothing of other accounts.
	RoleIntegrator Role = "integrator"
	// RoleApp is an open-platform app (Principal.Account, Principal.AppType):
	// it may call the routes whose Route.AppTypes name its type, within its
	// quotas, and no other.
	RoleApp Role = "app"
	// RolePOS is the non-tax POS gateway (非税收入 POS): it reports the
	// replacement fees its terminals collected, and nothing else.
	RolePOS Role = "pos"
)

// Roles lists every role.
func Roles() []Role {
	return []Role{RoleAdmin, RoleCounter, RoleBank, RoleAuditor, RoleAnalyst, RoleBlacklistConsumer, RoleDisplay,
		RoleChannel, RoleTerminal, RoleIntegrator, RoleApp, RolePOS}
}

// Valid reports whether r is one of the declared roles.
func (r Role) Valid() bool {
	for _, v := range Roles() {
		if r == v {
			return true
		}
	}
	return false
}

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	if r := Role(s); r.Valid() {
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q (want one of %v)", s, Roles())
}

// Principal is the authenticated API client of a request.
type Principal struct {
	Client string // unique client name
	Role   Role
	Region string // optional scope: GB/T 2260 region code the client is limited to
	Bank   string // optional scope: bank code the client acts for
	// Channel is the e-card channel code of a RoleChannel client ("" for
	// every other role); it is also a scope: holders bound to the channel.
	Channel string
	// Agency is the agency or merchant code of a RoleTerminal client.
	Agency string
	// Account is the open-platform account of a RoleIntegrator or RoleApp
	// client; AppType is a RoleApp client's app type (Route.AppTypes).
	Account string
	AppType string
	// Method is how the client proved who it is: MethodBearer, MethodHMAC,
	// MethodEd25519 or MethodTLS.
	Method string
	// Subject is the verified client certificate's subject (MethodTLS), for
	// the audit trail; "" otherwise.
	Subject string
	// RateLimit overrides Options.RateLimit.PerSecond for this client when
	// positive (requests per second).
	RateLimit float64
}

// Authentication methods (Principal.Method).
const (
	MethodBearer = "bearer"
	MethodHMAC   = "hmac"
	MethodTLS    = "tls"
	// MethodEd25519: a request signed with the client's own Ed25519 key.
	MethodEd25519 = "ed25519"
)

// Authenticator turns a bearer key into the client it belongs to.
// It returns ErrUnauthenticated (possibly wrapped) for an unknown key; any
// other error is an outage and becomes 503.
type Authenticator interface {
	Authenticate(ctx context.Context, key string) (Principal, error)
}

// ErrUnauthenticated: the key (client, certificate) belongs to no client.
var ErrUnauthenticated = errors.New("unknown API key")

// SignedAuthenticator backs signed requests (see SignedRequest).
type SignedAuthenticator interface {
	// SigningKey returns the client and the key that checks its
	// signatures (an HMAC secret or an Ed25519 public key);
	// ErrUnauthenticated for an unknown client or one that does not sign.
	SigningKey(ctx context.Context, client string) (Principal, VerificationKey, error)
	// UseNonce records that client used nonce, remembering it until
	// expires; ErrNonceReplayed if it was used before. It must hold across
	// every server instance (shared storage).
	UseNonce(ctx context.Context, client, nonce string, expires time.Time) error
}

// CertAuthenticator maps a verified TLS client certificate to its client;
// ErrUnauthenticated when none is registered for it.
type CertAuthenticator interface {
	AuthenticateCert(ctx context.Context, cert *x509.Certificate) (Principal, error)
}

// StaticAuthenticator maps fixed keys to principals; for tests and local runs.
type StaticAuthenticator map[string]Principal

func (s StaticAuthenticator) Authenticate(_ context.Context, key string) (Principal, error) {
	p, ok := s[key]
	if !ok {
		return Principal{}, ErrUnauthenticated
	}
	if p.Method == "" {
		p.Method = MethodBearer
	}
	return p, nil
}

type principalKey struct{}

// ContextWithPrincipal returns ctx carrying p, for code below the HTTP layer.
func ContextWithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFromContext returns the principal stored by ContextWithPrincipal.
func PrincipalFromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
