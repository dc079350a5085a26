package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Problem codes of scope denials: which scope failed.
const (
	CodeScopeRegion = "scope_region"
	CodeScopeBank   = "scope_bank"
)

// ErrOutOfScope is wrapped by every *ScopeError.
var ErrOutOfScope = errors.New("out of the client's scope")

// Scope is what a client may touch besides what its role allows: cardholders
// of a region and cards of a bank. The zero Scope is unrestricted (the city
// centre, batch jobs, the seeder).
type Scope struct {
	// Region is a GB/T 2260 code: a province (320000) covers every code
	// starting 32, a prefecture/city (320500) every code starting 3205, a
	// county (320506) only itself. "" covers everything.
	Region string
	// Bank is a bank code; a client with one may act only on cards of that
	// bank. "" covers every bank.
	Bank string
	// Channel is an e-card channel code; a client with one may act only for
	// holders whose e-card is bound to that channel (holder_not_bound).
	// "" covers every holder.
	Channel string
}

// Scope is the principal's scope.
func (p Principal) Scope() Scope {
	s := Scope{Region: p.Region, Bank: p.Bank, Channel: p.Channel}
	if p.Role == RoleTerminal {
		s.Region = "" // a terminal's region is where it stands, not whom it may verify
	}
	return s
}

// Unrestricted reports whether s limits nothing.
func (s Scope) Unrestricted() bool { return s.Region == "" && s.Bank == "" && s.Channel == "" }

// CoversRegion reports whether a cardholder registered in region code is in
// s. An empty code (nothing known yet) is covered only by an unrestricted
// region scope.
func (s Scope) CoversRegion(code string) bool {
	return RegionCovers(s.Region, code)
}

// CoversBank reports whether a card of bank code is in s. A card without a
// bank (none chosen yet) is covered.
func (s Scope) CoversBank(code string) bool {
	return s.Bank == "" || code == "" || code == s.Bank
}

// Check returns a *ScopeError when a cardholder of region, holding a card of
// bank, is outside s; nil otherwise. Pass bank "" when there is no card.
func (s Scope) Check(region, bank string) error {
	if !s.CoversRegion(region) {
		return &ScopeError{Code: CodeScopeRegion, Scope: s}
	}
	if !s.CoversBank(bank) {
		return &ScopeError{Code: CodeScopeBank, Scope: s}
	}
	return nil
}

// RegionCovers reports whether the region scope covers code: scope "" covers
// all; otherwise code must lie in the division scope names (trailing "00"
// pairs of a 6-digit code mean "the whole division").
func RegionCovers(scope, code string) bool {
	if scope == "" {
		return true
	}
	if code == "" {
		return false
	}
	return strings.HasPrefix(code, regionPrefix(scope))
}

// IsCountyRegion reports whether code names a county-level division (its
// last two digits are not 00).
func IsCountyRegion(code string) bool {
	return len(code) == 6 && code[4:] != "00"
}

// RegionPrefix is the prefix every region code covered by scope starts with
// ("" for the unrestricted scope), for filtering lists in SQL.
func RegionPrefix(scope string) string {
	if scope == "" {
		return ""
	}
	return regionPrefix(scope)
}

func regionPrefix(code string) string {
	p := code
	for len(p) > 2 && strings.HasSuffix(p, "00") {
		p = p[:len(p)-2]
	}
	return p
}

// ScopeError is a denial because the target is outside the client's scope.
// The server answers it with 403 and Code, and logs it.
type ScopeError struct {
	Code  string // CodeScopeRegion or CodeScopeBank
	Scope Scope
}

func (e *ScopeError) Error() string {
	return fmt.Sprintf("%v: %s (region %q, bank %q)", ErrOutOfScope, e.Code, e.Scope.Region, e.Scope.Bank)
}

func (e *ScopeError) Unwrap() error { return ErrOutOfScope }

// Problem is the 403 answer. It names the failed scope and the client's own
// limit, never anything about the target (which may be personal data).
func (e *ScopeError) Problem() *Problem {
	detail := fmt.Sprintf("this client may act only on cardholders of region %s", e.Scope.Region)
	if e.Code == CodeScopeBank {
		detail = fmt.Sprintf("this client may act only on cards of bank %s", e.Scope.Bank)
	}
	return NewProblem(http.StatusForbidden, e.Code, detail)
}
