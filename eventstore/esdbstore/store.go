package esdbstore

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/cardledger/cardledger/eventstore"
)

// Store is an eventstore.Store on one EventStoreDB node or cluster.
type Store struct {
	link *link
	// leaderOnly: every call requires the leader (nodePreference=leader,
	// the default), see leaderRequired.
	leaderOnly bool
	// retryFor bounds the retries of one operation (defaultRetryFor).
	retryFor time.Duration
}

// errClosed is returned by operations on a closed Store.
var errClosed = errors.New("esdbstore: store is closed")

var _ eventstore.Store = (*Store)(nil)

// Open connects to the server at url, an EventStoreDB connection string
// such as "esdb://host:2113?tls=false" or, for a cluster,
// "esdb://node1:2113,node2:2113,node3:2113?nodePreference=leader", and
// checks that it answers.
func Open(ctx context.Context, url string) (*Store, error) {
	conf, err := esdb.ParseConnectionString(url)
	if err != nil {
		return nil, fmt.Errorf("esdbstore: parse connection string: %w", err)
	}
	conf.Logger = clientLogger
	l, err := newLink(conf)
	if err != nil {
		return nil, err
	}
	// The client connects lazily and its connect does not take a context.
	_, _, err = call(ctx, l, func(c *esdb.Client) (*esdb.ServerVersion, error) { return c.GetServerVersion() })
	if err != nil {
		l.close()
		return nil, fmt.Errorf("esdbstore: connect to %s: %w", conf.Address, err)
	}
	return &Store{link: l, leaderOnly: conf.NodePreference == esdb.NodePreferenceLeader, retryFor: defaultRetryFor}, nil
}

// Close closes the connection; running calls and open subscriptions end
// with an error.
func (s *Store) Close() error {
	return s.link.close()
}

// clientLogger passes on the client's warnings and errors; its debug and
// info lines narrate every connection attempt.
func clientLogger(level esdb.LogLevel, format string, args ...any) {
	if level == esdb.LogWarn || level == esdb.LogError {
		log.Printf("esdb client "+string(level)+": "+format, args...)
	}
}
