package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/analytics/chtest"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
	"github.com/cardledger/cardledger/province"
)

// target is what a route acts on, which decides how its scope is checked.
type target int

const (
	targetNone     target = iota // no cardholder: public, lists, aggregates, feeds
	targetHolder                 // a cardholder by {id}
	targetCard                   // a card by {card_no}
	targetIDNumber               // a cardholder by ?id_number=
	targetRegister               // the registration body names the region
	targetOwn                    // checks its own scope rules (permission requests: see their tests)
)

// access is the expectation for one endpoint: the roles that may call it
// besides admin (nil: public) and what its scope is checked against.
type access struct {
	roles  []httpapi.Role
	target target
}

var (
	counter   = httpapi.RoleCounter
	bank      = httpapi.RoleBank
	auditor   = httpapi.RoleAuditor
	analyst   = httpapi.RoleAnalyst
	consumer  = httpapi.RoleBlacklistConsumer
	display   = httpapi.RoleDisplay
	channel   = httpapi.RoleChannel
	terminal  = httpapi.RoleTerminal
	integr    = httpapi.RoleIntegrator
	adminOnly = []httpapi.Role{}
)

func roles(r ...httpapi.Role) []httpapi.Role { return r }

// accessMatrix is the role × scope specification of every endpoint the
// server serves. TestAccessMatrix fails for a served endpoint missing here,
// so a new endpoint cannot ship without its line.
var accessMatrix = map[string]access{
	// Public.
	"GET /healthz":      {nil, targetNone},
	"GET /openapi.json": {nil, targetNone},
	"GET /metrics":      {nil, targetNone},
	"GET /readyz":       {nil, targetNone},

	// Command API.
	"POST /v1/cardholders":                           {roles(counter, bank), targetRegister},
	"POST /v1/cardholders/{id}/applications":         {roles(counter, bank), targetHolder},
	"POST /v1/cardholders/{id}/bank-account":         {roles(bank), targetHolder},
	"POST /v1/cardholders/{id}/bank-account-refusal": {roles(bank), targetHolder},
	"POST /v1/cardholders/{id}/card-number":          {roles(counter), targetHolder},
	"POST /v1/cardholders/{id}/instant-issuance":     {roles(bank), targetHolder},
	"POST /v1/cardholders/{id}/erasure":              {adminOnly, targetHolder},
	"POST /v1/cards/{card_no}/production":            {roles(counter), targetCard},
	"POST /v1/cards/{card_no}/production-failure":    {roles(counter), targetCard},
	"POST /v1/cards/{card_no}/handovers":             {roles(counter), targetCard},
	"POST /v1/cards/{card_no}/issue":                 {roles(counter, bank), targetCard},
	"POST /v1/cards/{card_no}/activation":            {roles(counter, bank), targetCard},
	"POST /v1/cards/{card_no}/loss":                  {roles(counter, bank), targetCard},
	"POST /v1/cards/{card_no}/temporary-loss":        {roles(counter, bank), targetCard},
	"POST /v1/cards/{card_no}/unlock":                {roles(counter, bank), targetCard},
	"POST /v1/cards/{card_no}/cancellation":          {roles(counter), targetCard},
	"POST /v1/cards/{card_no}/restoration":           {roles(counter), targetCard},
	"POST /v1/cards/{card_no}/replacement":           {roles(counter, bank), targetCard},
	"POST /v1/cards/{card_no}/pin-reset":             {roles(counter, bank), targetCard},
	"POST /v1/cards/{card_no}/pin-change":            {roles(counter, bank), targetCard},
	"POST /v1/cards/{card_no}/transfer":              {roles(counter), targetCard},
	"POST /v1/cards/{card_no}/ecard":                 {roles(counter), targetCard},
	"POST /v1/cards/{card_no}/ecard/revocation":      {roles(counter), targetCard},
	"GET /v1/cardholders/{id}/history":               {roles(auditor, counter), targetHolder},
	"GET /v1/cards/{card_no}/history":                {roles(auditor, counter), targetCard},
	"GET /v1/cardholders/{id}/state":                 {roles(auditor, counter), targetHolder},

	// E-card channels (issue 14). A channel acts only for holders bound to
	// it and within their consent (holder_not_bound, consent_required,
	// channel_suspended: 403s of their own, tested in commands); the
	// matrix holder is bound to no channel. The binding names its holder
	// by ID number in the body (the example's is nobody's).
	"POST /v1/ecard/bindings":                                     {roles(channel), targetOwn},
	"POST /v1/cardholders/{id}/ecard/unbinding":                   {roles(channel, counter), targetHolder},
	"POST /v1/cardholders/{id}/consents":                          {roles(channel, counter), targetHolder},
	"GET /v1/cardholders/{id}/consents":                           {roles(channel, counter), targetHolder},
	"POST /v1/cardholders/{id}/consents/{channel}/revocation":     {roles(channel, counter), targetHolder},
	"POST /v1/cardholders/{id}/self-service/temporary-loss":       {roles(channel), targetHolder},
	"POST /v1/cardholders/{id}/self-service/unlock":               {roles(channel), targetHolder},
	"POST /v1/cardholders/{id}/self-service/cancellation-request": {roles(channel), targetHolder},
	"POST /v1/cardholders/{id}/self-service/activation":           {roles(channel), targetHolder},
	"POST /v1/cardholders/{id}/self-service/phone":                {roles(channel), targetHolder},
	"POST /v1/cardholders/{id}/self-service/instant-application":  {roles(channel), targetHolder},
	"GET /v1/cardholders/{id}/self-service/status":                {roles(channel), targetHolder},
	"GET /v1/cardholders/{id}/self-service/production":            {roles(channel), targetHolder},
	"POST /v1/ecard/channels/{code}/suspension":                   {adminOnly, targetNone},
	"POST /v1/ecard/channels/{code}/resumption":                   {adminOnly, targetNone},
	"GET /v1/ecard/channels/{code}":                               {adminOnly, targetNone},

	// Personal data upkeep (issue 16): the counter corrects; a channel only
	// the phone of a holder bound to it (the matrix holder is bound to none).
	"POST /v1/cardholders/{id}/corrections":      {roles(channel, counter), targetHolder},
	"POST /v1/cardholders/{id}/id-number-change": {roles(counter), targetHolder},
	"POST /v1/cardholders/{id}/photo":            {roles(counter), targetHolder},
	"GET /v1/cardholders/{id}/photo":             {roles(bank, counter), targetHolder},

	// The provincial card database (issue 16; the matrix runs the
	// simulator): the counter downloads, transfers in and cancels the
	// province's record; an admin uploads.
	"GET /v1/cardholders/{id}/provincial-cards":               {roles(counter, auditor), targetHolder},
	"POST /v1/cardholders/{id}/transfer-in":                   {roles(counter), targetHolder},
	"POST /v1/cards/{card_no}/provincial-record/cancellation": {roles(counter), targetCard},
	"POST /v1/province/uploads":                               {adminOnly, targetNone},
	"GET /v1/province/records":                                {adminOnly, targetNone},

	// Replacement fee (issue 16 item 6): the counter sends a fee to the
	// POS; the POS gateway reports payments (the body names the holder;
	// the pipeline checks a scoped gateway's region); the daily report
	// keeps a scoped counter's region only (fees tests).
	"POST /v1/cardholders/{id}/fee/collection": {roles(counter), targetHolder},
	"POST /v1/fees/payments":                   {roles(httpapi.RolePOS), targetOwn},
	"GET /v1/fees/daily-report":                {roles(counter, auditor), targetNone},

	// Notification opt-out (issue 16 item 5): the counter, or a channel
	// bound to the holder (the matrix holder is bound to none).
	"POST /v1/cardholders/{id}/notification-preferences":  {roles(channel, counter), targetHolder},
	"GET /v1/notifications/status":                        {adminOnly, targetNone},
	"POST /v1/notifications/dead-letters/{id}/redelivery": {adminOnly, targetNone},

	// Read API.
	"GET /v1/cardholders/{id}":          {roles(counter, bank, auditor), targetHolder},
	"GET /v1/cardholders":               {roles(counter, bank, auditor), targetIDNumber},
	"GET /v1/cards/{card_no}":           {roles(counter, bank, auditor), targetCard},
	"GET /v1/cardholders/{id}/progress": {roles(counter, bank, auditor), targetHolder},
	// Lists answer 200 and keep only the rows in scope (readapi tests).
	"GET /v1/employers/{code}/holdings":            {roles(counter, bank, auditor), targetNone},
	"GET /v1/communities/{code}/holdings":          {roles(counter, bank, auditor), targetNone},
	"GET /v1/employers/{code}/production-failures": {roles(counter, bank, auditor), targetNone},
	// Aggregates (counts, no person): not narrowed by region yet.
	"GET /v1/stats/cards-by-agency":   {roles(counter, auditor, analyst), targetNone},
	"GET /v1/stats/cards-by-category": {roles(counter, auditor, analyst), targetNone},
	"GET /v1/stats/cards-by-county":   {roles(counter, auditor, analyst), targetNone},
	"GET /v1/stats/cards-by-status":   {roles(counter, auditor, analyst), targetNone},
	"GET /v1/stats/cards-by-town":     {roles(counter, auditor, analyst), targetNone},
	"GET /v1/stats/issued-per-month":  {roles(counter, auditor, analyst), targetNone},
	// The blacklist is for every acceptance point, whatever its region.
	"GET /v1/blacklist/changes":   {roles(consumer, counter, bank, auditor), targetNone},
	"GET /v1/blacklist/snapshot":  {roles(consumer, counter, bank, auditor), targetNone},
	"GET /v1/blacklist/{card_no}": {roles(consumer, counter, bank, auditor), targetNone},

	// Audit trail: not narrowed by region yet.
	// Scoped auditors are refused the trail (audit tests check it).
	"GET /v1/audit": {roles(auditor), targetNone},

	// Batch production: batches span many holders
	// and are not narrowed by region yet.
	"POST /v1/applications/imports": {roles(counter), targetNone},
	// Rows outside a region-bound counter's scope are refused per row (conflict scope_region).
	"POST /v1/legacy-cards/imports":        {roles(counter), targetOwn},
	"POST /v1/batches":                     {roles(counter), targetNone},
	"GET /v1/batches":                      {roles(counter, auditor), targetNone},
	"GET /v1/batches/{id}":                 {roles(counter, auditor), targetNone},
	"GET /v1/batches/{id}/members":         {roles(counter, auditor), targetNone},
	"POST /v1/batches/{id}/review":         {roles(counter), targetNone},
	"POST /v1/batches/{id}/confirm":        {roles(counter), targetNone},
	"POST /v1/batches/{id}/exports/{kind}": {roles(counter), targetNone},
	"POST /v1/batches/returns":             {roles(counter, bank), targetNone},
	"POST /v1/batches/{id}/handovers":      {roles(counter), targetNone},
	"POST /v1/batches/{id}/pickup":         {roles(counter), targetNone},
	"POST /v1/batches/{id}/resume":         {roles(counter), targetNone},

	// Background jobs of batch production (a bank follows the return it offered).
	"GET /v1/applications/imports/{id}":      {roles(counter, auditor), targetNone},
	"GET /v1/batches/{id}/jobs/{job}":        {roles(counter, bank, auditor), targetNone},
	"POST /v1/batches/{id}/jobs/{job}/retry": {roles(counter), targetNone},

	// PSAM stock: terminal security modules, no cardholder.
	"POST /v1/psam":                 {roles(counter), targetNone},
	"GET /v1/psam/stock":            {roles(counter, auditor), targetNone},
	"GET /v1/psam/{serial}":         {roles(counter, auditor), targetNone},
	"POST /v1/psam/{serial}/issue":  {roles(counter), targetNone},
	"POST /v1/psam/{serial}/return": {roles(counter), targetNone},
	"POST /v1/psam/{serial}/damage": {roles(counter), targetNone},
	"POST /v1/psam/{serial}/loss":   {roles(counter), targetNone},

	// Analytics (served only with ClickHouse). The top-people list is
	// filtered to the caller's region (analytics tests check it).
	"POST /v1/usage":                                   {roles(bank, counter), targetNone},
	"GET /v1/analytics/flows":                          {roles(analyst), targetNone},
	"GET /v1/analytics/spending":                       {roles(analyst), targetNone},
	"GET /v1/analytics/categories":                     {roles(analyst), targetNone},
	"GET /v1/analytics/usage-stats":                    {roles(analyst), targetNone},
	"GET /v1/analytics/usage-stats/people":             {roles(analyst), targetNone},
	"GET /v1/analytics/cross-region":                   {roles(analyst), targetNone},
	"GET /v1/analytics/lifecycle":                      {roles(analyst), targetNone},
	"GET /v1/analytics/people/{cardholder_id}/history": {roles(analyst), targetHolder},
	"GET /v1/analytics/people/{cardholder_id}/profile": {roles(analyst), targetHolder},
	"GET /v1/analytics/cards/{card_no}/history":        {roles(analyst), targetCard},
	"GET /v1/analytics/cards/{card_no}/profile":        {roles(analyst), targetCard},
	"GET /dashboard":                                   {nil, targetNone},
	"GET /dashboard/dashboard.js":                      {nil, targetNone},
	"GET /dashboard/assets/echarts.min.js":             {nil, targetNone},
	"GET /dashboard/data":                              {roles(analyst, display), targetNone},

	// Permission requests (admin only; their region rules are tested in permissions).
	"POST /v1/permission-requests":                {adminOnly, targetOwn},
	"POST /v1/permission-requests/{id}/approval":  {adminOnly, targetOwn},
	"POST /v1/permission-requests/{id}/rejection": {adminOnly, targetOwn},
	"GET /v1/permission-requests/{id}":            {roles(auditor), targetOwn},

	// E-card codes: the keys are public; a channel issues for holders bound
	// to it (its own rule: holder_not_bound, ecard tests), a terminal verifies.
	// Subscriptions (issue 16): a bank manages its own bank's (404 for
	// another's), an admin any; the bank scope applies by itself.
	"POST /v1/subscriptions":                  {roles(bank), targetOwn},
	"GET /v1/subscriptions/{id}":              {roles(bank), targetOwn},
	"GET /v1/subscriptions/{id}/dead-letters": {roles(bank), targetOwn},
	"POST /v1/subscriptions/{id}/redelivery":  {roles(bank), targetOwn},
	"POST /v1/subscriptions/{id}/secret":      {roles(bank), targetOwn},
	"GET /v1/ecard/keys":                      {nil, targetNone},
	"POST /v1/ecard/codes":                    {roles(channel), targetOwn},
	"POST /v1/ecard/verify":                   {roles(terminal), targetNone},
	// Scan-to-login: the page and its sessions are public (a session is
	// polled with the page's secret, ecard login tests); a channel confirms
	// for a holder bound to it (its own rule, like codes).
	"GET /ecard/login":                                {nil, targetNone},
	"GET /ecard/login.js":                             {nil, targetNone},
	"POST /v1/ecard/login-sessions":                   {nil, targetNone},
	"GET /v1/ecard/login-sessions/{id}":               {nil, targetNone},
	"POST /v1/ecard/login-sessions/{id}/confirmation": {roles(channel), targetOwn},

	// Open platform: registration and the catalogue are public; an
	// integrator reaches its own account only (its own rule:
	// platform_account_scope, platform tests).
	"POST /v1/platform/accounts":                {nil, targetNone},
	"POST /v1/platform/accounts/{id}/approval":  {adminOnly, targetOwn},
	"POST /v1/platform/accounts/{id}/rejection": {adminOnly, targetOwn},
	"GET /v1/platform/accounts/{id}":            {roles(integr), targetOwn},
	"POST /v1/platform/apps":                    {roles(integr), targetOwn},
	"GET /v1/platform/apps":                     {roles(integr), targetOwn},
	"GET /v1/platform/apps/{id}":                {roles(integr), targetOwn},
	"POST /v1/platform/apps/{id}/secret":        {roles(integr), targetOwn},
	"PUT /v1/platform/apps/{id}/public-key":     {roles(integr), targetOwn},
	"PUT /v1/platform/apps/{id}/channels":       {roles(integr), targetOwn},
	"PUT /v1/platform/apps/{id}/quotas":         {adminOnly, targetOwn},
	"POST /v1/platform/apps/{id}/revocation":    {roles(integr), targetOwn},
	"GET /v1/platform/apps/{id}/usage":          {roles(integr), targetOwn},
	"GET /v1/platform/catalogue":                {nil, targetNone},

	// Payments: financial-payment apps act for their merchants (their own
	// rules: merchant_not_found for another account's, merchant_scope for a
	// caller that is not an app; payments tests); an administrator decides
	// merchants; a channel makes payment codes and confirms orders online.
	"POST /v1/ecard/payment-codes":                              {roles(channel), targetOwn},
	"POST /v1/payment/merchants":                                {adminOnly, targetOwn},
	"GET /v1/payment/merchants/{id}":                            {roles(integr), targetOwn},
	"POST /v1/payment/merchants/{id}/approval":                  {adminOnly, targetOwn},
	"POST /v1/payment/merchants/{id}/rejection":                 {adminOnly, targetOwn},
	"POST /v1/payment/merchants/{id}/apps":                      {roles(integr), targetOwn},
	"GET /v1/payment/merchants/{id}/orders/{no}":                {roles(integr), targetOwn},
	"DELETE /v1/payment/merchants/{id}/apps/{app_id}":           {roles(integr), targetOwn},
	"GET /v1/payment/merchants/{id}/orders":                     {roles(integr), targetOwn},
	"GET /v1/payment/merchants/{id}/notifications":              {roles(integr), targetOwn},
	"GET /v1/payment/merchants/{id}/notifications/dead-letters": {roles(integr), targetOwn},
	"POST /v1/payment/merchants/{id}/notifications/redelivery":  {roles(integr), targetOwn},
	"POST /v1/payment/merchants/{id}/notifications/secret":      {roles(integr), targetOwn},
	"POST /v1/payment/orders":                                   {adminOnly, targetOwn},
	"GET /v1/payment/orders/{id}":                               {roles(channel), targetOwn},
	"POST /v1/payment/orders/{id}/payment":                      {adminOnly, targetOwn},
	"POST /v1/payment/orders/{id}/confirmation":                 {roles(channel), targetOwn},
	"POST /v1/payment/orders/{id}/closure":                      {adminOnly, targetOwn},
	"POST /v1/payment/orders/{id}/refunds":                      {adminOnly, targetOwn},

	// Merchant reconciliation: the merchant's account, the payment apps
	// bound to it and administrators (its own rule, as the payments API's:
	// merchant_not_found, merchant_app_not_bound; reconcile tests).
	"GET /v1/payment/merchants/{id}/statements/{date}":                 {roles(integr), targetOwn},
	"GET /v1/payment/merchants/{id}/statements/{date}/totals":          {roles(integr), targetOwn},
	"POST /v1/payment/merchants/{id}/settlements":                      {roles(integr), targetOwn},
	"GET /v1/payment/merchants/{id}/settlements/{date}":                {roles(integr), targetOwn},
	"GET /v1/payment/merchants/{id}/settlements/{date}/mismatches.csv": {roles(integr), targetOwn},

	"POST /v1/platform/channels":                {adminOnly, targetNone},
	"GET /v1/platform/channels":                 {roles(integr), targetNone},
	"GET /v1/platform/channels/{code}":          {roles(integr), targetNone},
	"POST /v1/platform/channels/{code}/opening": {adminOnly, targetNone},
	"POST /v1/platform/channels/{code}/closing": {adminOnly, targetNone},
}

// appAccess lists the routes open-platform apps may call and the app types
// that may (Route.AppTypes); an app gets 403 app_scope on every other route.
var appAccess = map[string][]string{
	"GET /v1/blacklist/{card_no}":                               {domain.AppIdentityReading, domain.AppFinancialPayment},
	"POST /v1/payment/merchants":                                {domain.AppFinancialPayment},
	"GET /v1/payment/merchants/{id}":                            {domain.AppFinancialPayment},
	"POST /v1/payment/merchants/{id}/apps":                      {domain.AppFinancialPayment},
	"GET /v1/payment/merchants/{id}/orders/{no}":                {domain.AppFinancialPayment},
	"DELETE /v1/payment/merchants/{id}/apps/{app_id}":           {domain.AppFinancialPayment},
	"GET /v1/payment/merchants/{id}/orders":                     {domain.AppFinancialPayment},
	"GET /v1/payment/merchants/{id}/notifications":              {domain.AppFinancialPayment},
	"GET /v1/payment/merchants/{id}/notifications/dead-letters": {domain.AppFinancialPayment},
	"POST /v1/payment/merchants/{id}/notifications/redelivery":  {domain.AppFinancialPayment},
	"POST /v1/payment/merchants/{id}/notifications/secret":      {domain.AppFinancialPayment},
	"POST /v1/payment/orders":                                   {domain.AppFinancialPayment},
	"GET /v1/payment/orders/{id}":                               {domain.AppFinancialPayment},
	"POST /v1/payment/orders/{id}/payment":                      {domain.AppFinancialPayment},
	"POST /v1/payment/orders/{id}/closure":                      {domain.AppFinancialPayment},
	"POST /v1/payment/orders/{id}/refunds":                      {domain.AppFinancialPayment},

	"GET /v1/payment/merchants/{id}/statements/{date}":                 {domain.AppFinancialPayment},
	"GET /v1/payment/merchants/{id}/statements/{date}/totals":          {domain.AppFinancialPayment},
	"POST /v1/payment/merchants/{id}/settlements":                      {domain.AppFinancialPayment},
	"GET /v1/payment/merchants/{id}/settlements/{date}":                {domain.AppFinancialPayment},
	"GET /v1/payment/merchants/{id}/settlements/{date}/mismatches.csv": {domain.AppFinancialPayment},

	"POST /v1/cardholders":                    {domain.AppIdentityReading},
	"POST /v1/cardholders/{id}/applications":  {domain.AppIdentityReading},
	"GET /v1/cardholders/{id}/progress":       {domain.AppIdentityReading},
	"POST /v1/cards/{card_no}/temporary-loss": {domain.AppIdentityReading},
}

func TestAccessMatrix(t *testing.T) {
	m := startMatrix(t)
	served := m.routes()

	var missing []string
	for _, r := range served {
		if _, ok := accessMatrix[r]; !ok {
			missing = append(missing, r)
		}
	}
	require.Empty(t, missing, "served endpoints missing from accessMatrix: add a line for each")
	var stale []string
	for r := range accessMatrix {
		if !slices.Contains(served, r) {
			stale = append(stale, r)
		}
	}
	sort.Strings(stale)
	require.Empty(t, stale, "accessMatrix lists endpoints this server does not serve: remove them or wire their module")

	for _, route := range served {
		spec := accessMatrix[route]
		t.Run(route, func(t *testing.T) {
			if spec.roles == nil {
				status, _ := m.call(route, "")
				assert.NotEqual(t, http.StatusUnauthorized, status, "public")
				assert.NotEqual(t, http.StatusForbidden, status, "public")
				return
			}
			status, code := m.call(route, "")
			assert.Equal(t, http.StatusUnauthorized, status, "unauthenticated")
			assert.Equal(t, httpapi.CodeUnauthenticated, code)

			m.checkScopes(t, route, spec)

			assert.Equal(t, appAccess[route], m.appTypes[route], "x-app-types of the document")
			for _, role := range httpapi.Roles() {
				status, code := m.call(route, "any-"+string(role))
				if role == httpapi.RoleApp {
					// The matrix's app is of type identity_reading.
					if slices.Contains(appAccess[route], domain.AppIdentityReading) {
						assert.Less(t, status, 500, "the app is allowed and must be served (%s)", code)
						assert.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, status, "the app is allowed (%s)", code)
					} else {
						assert.Equal(t, http.StatusForbidden, status, "an app may not call it")
						assert.Equal(t, httpapi.CodeAppScope, code, "an app may not call it")
					}
					continue
				}
				allowed := role == httpapi.RoleAdmin || slices.Contains(spec.roles, role)
				if allowed {
					// An allowed role may still meet a business rule that is a 403
					// of its own (e.g. requester_not_county), never an access refusal,
					// and is served: a 5xx here is a bug the matrix must not hide.
					assert.Less(t, status, 500, "%s is allowed and must be served (%s)", role, code)
					assert.NotEqual(t, http.StatusUnauthorized, status, "%s is allowed (%s)", role, code)
					assert.NotContains(t, []string{httpapi.CodeForbidden, httpapi.CodeScopeRegion, httpapi.CodeScopeBank}, code, "%s is allowed", role)
				} else {
					assert.Equal(t, http.StatusForbidden, status, "%s is not allowed", role)
					assert.Equal(t, httpapi.CodeForbidden, code, "%s is not allowed", role)
				}
			}
		})
	}
}

// checkScopes calls route as clients allowed by role but bound to another
// county, and to another bank: both are refused naming the scope.
func (m *matrix) checkScopes(t *testing.T, route string, spec access) {
	t.Helper()
	if spec.target == targetNone || spec.target == targetOwn {
		return
	}
	role := httpapi.RoleAdmin
	if len(spec.roles) > 0 {
		role = spec.roles[0]
	}
	status, code := m.call(route, "other-county-"+string(role))
	assert.Equal(t, http.StatusForbidden, status, "a %s of another county", role)
	assert.Equal(t, httpapi.CodeScopeRegion, code, "a %s of another county", role)

	if slices.Contains(spec.roles, bank) && spec.target != targetRegister {
		status, code := m.call(route, "other-bank")
		assert.Equal(t, http.StatusForbidden, status, "a bank client of another bank")
		assert.Equal(t, httpapi.CodeScopeBank, code, "a bank client of another bank")
	}
}

// matrix is a running server with one client per role, unscoped ("any-R"),
// bound to another county than the test holder's ("other-county-R"), and a
// bank client of another bank.
type matrix struct {
	t        *testing.T
	b        *booted
	servers  []*httptest.Server
	byRoute  map[string]*httptest.Server
	keys     map[string]string
	examples map[string]json.RawMessage
	appTypes map[string][]string // x-app-types by route
	holder   string
	card     string
	idNumber string
}

const (
	holderRegion = "320506"
	otherCounty  = "320507"
	holderBank   = "102"
	otherBank    = "103"
)

func startMatrix(t *testing.T) *matrix {
	t.Helper()
	sim, err := province.NewSimulator(province.SimulatorOptions{})
	require.NoError(t, err)
	prov := httptest.NewServer(sim.Handler())
	t.Cleanup(prov.Close)
	return newMatrix(t, map[string]string{"CARDLEDGER_POSTGRES_URL": testpg.NewDatabase(t),
		"CARDLEDGER_CLICKHOUSE_URL": chtest.NewDatabase(t), "CARDLEDGER_PROVINCE_URL": prov.URL})
}

// newMatrix boots the service with vars (the database URLs) and adds the
// clients and the test holder.
func newMatrix(t *testing.T, vars map[string]string) *matrix {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	vars["CARDLEDGER_LOG_LEVEL"] = "error"
	vars["CARDLEDGER_RATE_LIMIT"] = "0"
	env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return vars[k] }}
	b := boot(t, ctx, env)
	d := b.d
	m := &matrix{t: t, b: b, byRoute: map[string]*httptest.Server{}, keys: map[string]string{}, examples: map[string]json.RawMessage{},
		appTypes: map[string][]string{}}
	main := b.srv
	m.add(main, b.e)

	for _, role := range httpapi.Roles() {
		// A channel client names its channel, a terminal its agency.
		var ch, agency, account, appType string
		switch role {
		case httpapi.RoleIntegrator:
			account = "any"
		case httpapi.RoleApp:
			account, appType = "any", domain.AppIdentityReading
		case httpapi.RoleChannel:
			ch = "any"
		case httpapi.RoleTerminal:
			agency = "A001"
		}
		m.client(ctx, d.pool, auth.Client{Name: "any-" + string(role), Role: role, Channel: ch, Agency: agency,
			Account: account, AppType: appType})
		m.client(ctx, d.pool, auth.Client{Name: "other-county-" + string(role), Role: role, Region: otherCounty, Channel: ch,
			Agency: agency, Account: account, AppType: appType})
	}
	// The app's quotas are looked up by its client name: the
	// matrix's app is registered under both names, far from its quota.
	_, err := d.pool.Exec(ctx, `INSERT INTO platform_apps (app_id, account_id, client, app_type, per_minute, per_day)
		VALUES ('any', 'any', 'any-app', $1, 6000, 1000000)`, domain.AppIdentityReading)
	require.NoError(t, err)
	m.client(ctx, d.pool, auth.Client{Name: "other-bank", Role: httpapi.RoleBank, Bank: otherBank})
	m.client(ctx, d.pool, auth.Client{Name: "home-county-analyst", Role: httpapi.RoleAnalyst, Region: holderRegion})

	// The holder every cardholder route is called on: registered in
	// holderRegion, with an active card of holderBank, projected.
	m.idNumber = "11010519491231002X"
	status, body := m.send(http.MethodPost, main.URL+"/v1/cardholders", "any-admin", map[string]string{
		"id_number": m.idNumber, "name": "张三", "sex": "female", "nationality": "CHN",
		"region_code": holderRegion, "phone": "13800000000", "employer_code": "E001", "community_code": "C001",
	})
	require.Equal(t, http.StatusCreated, status, "%s", body)
	var res struct {
		CardholderID string `json:"cardholder_id"`
		CardNo       string `json:"card_no"`
	}
	require.NoError(t, json.Unmarshal(body, &res))
	m.holder = res.CardholderID
	status, body = m.send(http.MethodPost, main.URL+"/v1/cardholders/"+m.holder+"/instant-issuance", "any-admin",
		map[string]string{"bank_code": holderBank, "account_no": "6212260200012345678", "chip_id": "0123456789ABCDEF0123456789ABCDEF"})
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.NoError(t, json.Unmarshal(body, &res))
	m.card = res.CardNo
	require.Eventually(t, func() bool {
		status, _ := m.send(http.MethodGet, main.URL+"/v1/cards/"+m.card, "any-admin", nil)
		return status == http.StatusOK
	}, time.Minute, 50*time.Millisecond, "the read model has the holder")
	// Per-person analytics refuse a scoped caller the projection cannot
	// place; wait until it places the holder, so another county's refusal
	// there is the region check's own.
	if analytics, ok := m.byRoute["GET /v1/analytics/people/{cardholder_id}/history"]; ok {
		require.Eventually(t, func() bool {
			status, _ := m.send(http.MethodGet, analytics.URL+"/v1/analytics/people/"+m.holder+"/history", "home-county-analyst", nil)
			return status == http.StatusOK
		}, time.Minute, 50*time.Millisecond, "the analytics projection has the holder")
	}
	return m
}

// add registers the routes served by e (from its OpenAPI document, which
// NewServer generates from the route table) with their example bodies.
func (m *matrix) add(srv *httptest.Server, e *echo.Echo) {
	m.servers = append(m.servers, srv)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	require.Equal(m.t, http.StatusOK, rec.Code)
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody struct {
				Content map[string]struct {
					Example json.RawMessage `json:"example"`
				} `json:"content"`
			} `json:"requestBody"`
			AppTypes []string `json:"x-app-types"`
		} `json:"paths"`
	}
	require.NoError(m.t, json.Unmarshal(rec.Body.Bytes(), &doc))
	for path, ops := range doc.Paths {
		for method, op := range ops {
			key := strings.ToUpper(method) + " " + path
			m.byRoute[key] = srv
			if len(op.AppTypes) > 0 {
				if m.appTypes == nil {
					m.appTypes = map[string][]string{}
				}
				m.appTypes[key] = op.AppTypes
			}
			if ex, ok := op.RequestBody.Content["application/json"]; ok {
				m.examples[key] = ex.Example
			}
		}
	}
	// Every registered echo route must be in the document.
	for _, r := range e.Routes() {
		key := r.Method + " " + openAPIPath(r.Path)
		require.Contains(m.t, m.byRoute, key, "echo serves %s outside the route table", key)
	}
}

func openAPIPath(echoPath string) string {
	parts := strings.Split(echoPath, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

func (m *matrix) routes() []string {
	out := make([]string, 0, len(m.byRoute))
	for r := range m.byRoute {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

func (m *matrix) client(ctx context.Context, db auth.DB, c auth.Client) {
	key, err := auth.Add(ctx, db, c)
	require.NoError(m.t, err)
	m.keys[c.Name] = key
}

// call sends route with its path filled in for the test holder and its
// example body, as client ("" for none); it returns the status and the
// problem code.
func (m *matrix) call(route, client string) (int, string) {
	m.t.Helper()
	res := m.answer(route, client)
	return res.status, res.problem.Code
}

// answer is one response of the server, its problem decoded.
type answer struct {
	status  int
	header  http.Header
	body    []byte
	problem httpapi.Problem
}

// answer sends route as call does and returns the whole response.
func (m *matrix) answer(route, client string) answer {
	m.t.Helper()
	method, path, _ := strings.Cut(route, " ")
	url := m.byRoute[route].URL + m.fill(path)
	if route == "GET /v1/cardholders" {
		url += "?id_number=" + m.idNumber
	}
	var body any
	if ex, ok := m.examples[route]; ok {
		body = ex
	}
	var a answer
	a.status, a.header, a.body = m.sendFull(method, url, client, body)
	if a.status >= 400 {
		_ = json.Unmarshal(a.body, &a.problem)
	}
	return a
}

func (m *matrix) fill(path string) string {
	r := strings.NewReplacer("{card_no}", m.card, "{cardholder_id}", m.holder, "{code}", "E001", "{kind}", "bank", "{job}", "1",
		"{channel}", "any")
	path = r.Replace(path)
	if strings.HasPrefix(path, "/v1/cardholders/") {
		return strings.Replace(path, "{id}", m.holder, 1)
	}
	return strings.Replace(path, "{id}", "00000000-0000-0000-0000-000000000000", 1)
}

func (m *matrix) send(method, url, client string, body any) (int, []byte) {
	m.t.Helper()
	status, _, raw := m.sendFull(method, url, client, body)
	return status, raw
}

func (m *matrix) sendFull(method, url, client string, body any) (int, http.Header, []byte) {
	m.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case json.RawMessage:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(m.t, err)
		rd = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	require.NoError(m.t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if client != "" {
		key, ok := m.keys[client]
		require.True(m.t, ok, "no client %s", client)
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(m.t, err, fmt.Sprintf("%s %s", method, url))
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, raw
}
