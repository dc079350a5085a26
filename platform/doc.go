// Package platform is the open platform for integrators (开放平台) over
// HTTP: organisations register accounts, an administrator approves or
// rejects them, and an approved account creates apps, manages their
// credentials and reads their usage. docs/platform.md is the guide.
//
// Invariants:
//   - An account and its apps are one stream of the account aggregate
//     (domain.PlatformAccounts), written through the one write pipeline;
//     nothing is appended for a refused caller.
//   - Approval makes the account's administrator credential: an api_clients
//     row of role integrator bound to the account (auth.Client.Account),
//     its bearer key shown once in the approval's answer. Approving an
//     approved account whose credential is missing (a crash between the
//     append and the insert) makes it; otherwise the approval is decided.
//   - An app's credential is an api_clients row of role app, named
//     "app-<app id>", bound to the account and the app's type, signing its
//     requests with an HMAC secret (auth's signed requests) or, once the
//     account registered one, with its own Ed25519 key (scheme CL1-ED25519;
//     only the public key is stored). One credential at a time: a new key
//     replaces the secret or the old key, a new secret replaces the key;
//     revoking revokes the row. The sandbox client follows: same scheme,
//     same public key.
//   - An integrator sees and manages only its own account and apps (403
//     platform_account_scope otherwise); an administrator sees every one
//     but creates no app (it has no account).
//   - What an app may call is declared on the routes (httpapi.Route.AppTypes)
//     and enforced by the HTTP layer (403 app_scope); the catalogue is made
//     from the same route tables, never from a list of its own.
//   - Quotas are counted in PostgreSQL (platform_counters), so they hold
//     across instances: per minute and per Beijing-time day, refused with
//     429 app_quota_exceeded, nothing counted for a refused request.
//   - Registration needs no key and is limited per remote address (per
//     hour, same counters).
package platform
