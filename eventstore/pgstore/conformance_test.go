package pgstore_test

import (
	"testing"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
	"github.com/cardledger/cardledger/eventstore/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store { return pgstoretest.OpenTest(t) })
}
