// Package storetest is the conformance suite every eventstore.Store adapter
// passes. An adapter's test calls Run with a function that opens a store
// (and registers its Close with t.Cleanup):
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) eventstore.Store { return pgstoretest.OpenTest(t) })
//	}
//
// An adapter that implements eventstore.RowAppender creates RowTable in
// the store's database in open (RowTableDDL): the cases insert into it.
//
// Each case is a subtest named for the rule it checks, so one rule can be
// run alone: go test -run 'TestConformance/idempotent_retry'.
//
// The suite is safe against a shared store that is never empty, such as a
// real EventStoreDB: every case writes only streams named with its own
// random prefix, and reads of $all start at the Head taken when the case
// began and ignore events of other streams. Reads of $all poll for a while
// when events are not visible yet, because an adapter may publish $all
// slightly after Append returns (PostgreSQL does; see pgstore).
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/cardledger/cardledger/eventstore"
)

// caseTimeout bounds each case; the whole suite takes seconds.
const caseTimeout = 60 * time.Second

type testCase struct {
	name string
	run  func(t *testing.T, f *fixture)
}

var cases = []testCase{
	{"append and read back byte for byte", testRoundTrip},
	{"revisions count from zero", testRevisionsFromZero},
	{"expected revision", testExpectedRevision},
	{"idempotent retry", testIdempotentRetry},
	{"read stream from and limit", testReadStreamFromLimit},
	{"read missing stream", testReadMissingStream},
	{"read all in append order with atomic appends", testReadAllOrder},
	{"read all in pages", testReadAllPages},
	{"positions increase and round trip", testPositions},
	{"head of empty store", testHeadEmpty},
	{"head follows appends", testHeadFollowsAppends},
	{"concurrent exact appends have one winner per revision", testConcurrentExact},
	{"concurrent any appends all land", testConcurrentAny},
	{"subscribe catches up then goes live", testSubscribeCatchUpLive},
	{"subscribe catches up a large backlog", testSubscribeBacklog},
	{"subscribe resumes after a mid position", testSubscribeResume},
	{"subscribe stops on handler error", testSubscribeHandlerError},
	{"large stream reads completely", testLargeStream},
	{"appends chain every event to the previous one", testChainOnAppend},
	{"chains of streams are independent", testChainStreamsIndependent},
	{"idempotent retry keeps the chain", testChainIdempotentRetry},
	{"concurrent appends never fork the chain", testChainConcurrentAppends},
	{"append of the maximum size is accepted", testAppendAtMaxSize},
	{"append over the maximum size is refused", testAppendOverMaxSize},
	// Only for adapters that implement eventstore.MultiAppender.
	{"append many writes every stream", testAppendManyWritesEveryStream},
	{"append many is all or nothing", testAppendManyIsAllOrNothing},
	{"append many refuses a stream twice", testAppendManyRefusesAStreamTwice},
	{"append many refuses a part over the maximum size", testAppendManyPartOverMaxSize},
	// Only for adapters that implement eventstore.RowAppender (RowTable).
	{"append with a row writes both", testRowWrittenWithEvents},
	{"a conflicting row writes nothing", testRowConflictWritesNothing},
	{"a failed expectation writes no row", testRowNotWrittenOnWrongRevision},
	{"a retried append with a row writes it once", testRowIdempotentRetry},
	// Only for adapters whose UniqueEventIDs says true.
	{"an id stored in another stream is refused", testDuplicateIDInAnotherStream},
}

// Run runs every case as a subtest, each on a store from open.
func Run(t *testing.T, open func(t *testing.T) eventstore.Store) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), caseTimeout)
			defer cancel()
			s := open(t)
			c.run(t, newFixture(ctx, t, s))
		})
	}
}
