package reconcile

import (
	"context"
	"errors"
)

// Orders is the port through which reconciliation reads the payments:
// merchants, and their transactions of a day. The payments module's read
// model implements it; tests use a real table they fill.
type Orders interface {
	// Merchant returns the merchant; ErrNoMerchant when there is none.
	Merchant(ctx context.Context, id string) (Merchant, error)
	// Transactions lists the merchant's payments and refunds recorded on
	// the Beijing day, each once.
	Transactions(ctx context.Context, merchant string, day Day) ([]Txn, error)
}

// Merchant is what reconciliation needs of a merchant: who may read its
// files and reports.
type Merchant struct {
	ID        string
	AccountID string   // the integrator account that registered it
	AppIDs    []string // the payment apps it is bound to
}

// ErrNoMerchant: no merchant has this id.
var ErrNoMerchant = errors.New("no such merchant")
