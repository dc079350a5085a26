package pgstore_test

import (
	"testing"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
	"github.com/cardledger/cardledger/eventstore/storetest"
	"github.com/cardledger/cardledger/internal/testpg"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store {
		url := testpg.NewDatabase(t)
		testpg.MustExec(t, url, storetest.RowTableDDL)
		return pgstoretest.OpenURL(t, url)
	})
}
