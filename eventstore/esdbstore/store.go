package esdbstore

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/cardledger/cardledger/eventstore"
)

// Store is an eventstore.Store on one EventStoreDB node or cluster.
type Store struct {
	client *esdb.Client
	// mu is held shared by every call into the client and exclusively by
	// Close: the v4 client sends on a channel that Close closes, so closing
	// it under a running call panics the process.
	mu     sync.RWMutex
	closed bool
}

// errClosed is returned by operations on a closed Store.
var errClosed = errors.New("esdbstore: store is closed")

// use admits one operation; call release when it no longer touches the
// client. Operations never nest uses: a pending Close would deadlock them.
func (s *Store) use() (release func(), err error) {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, errClosed
	}
	return s.mu.RUnlock, nil
}

var _ eventstore.Store = (*Store)(nil)

// Open connects to the server at url, an EventStoreDB connection string
// such as "esdb://host:2113?tls=false", and checks that it answers.
func Open(ctx context.Context, url string) (*Store, error) {
	conf, err := esdb.ParseConnectionString(url)
	if err != nil {
		return nil, fmt.Errorf("esdbstore: parse connection string: %w", err)
	}
	conf.Logger = clientLogger
	client, err := esdb.NewClient(conf)
	if err != nil {
		return nil, fmt.Errorf("esdbstore: new client: %w", err)
	}
	// The client connects lazily and its connect does not take a context.
	connected := make(chan error, 1)
	go func() {
		_, err := client.GetServerVersion()
		connected <- err
	}()
	select {
	case err = <-connected:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("esdbstore: connect to %s: %w", conf.Address, err)
	}
	return &Store{client: client}, nil
}

// Close waits for running calls, then closes the connection; open
// subscriptions end with an error.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.client.Close()
}

// clientLogger passes on the client's warnings and errors; its debug and
// info lines narrate every connection attempt.
func clientLogger(level esdb.LogLevel, format string, args ...any) {
	if level == esdb.LogWarn || level == esdb.LogError {
		log.Printf("esdb client "+string(level)+": "+format, args...)
	}
}
