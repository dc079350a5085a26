package esdbdouble

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc"
)

// ServerVersion is the EventStoreDB version the double reports.
const ServerVersion = "24.10.0"

// Server is a running double. Each Server has its own empty log.
type Server struct {
	lis     net.Listener
	grpc    *grpc.Server
	log     *eventLog
	streams *streams
	done    chan struct{}
}

// DefaultMaxAppendSize is EventStoreDB's default MaxAppendSize.
const DefaultMaxAppendSize = 1 << 20

// Options change a double's settings from EventStoreDB's defaults.
type Options struct {
	// MaxAppendSize is the server setting of that name, in bytes (0:
	// DefaultMaxAppendSize).
	MaxAppendSize int
}

// Start listens on a free port of 127.0.0.1 and serves until Stop.
func Start() (*Server, error) { return StartWith(Options{}) }

// StartWith is Start with settings other than the defaults.
func StartWith(opts Options) (*Server, error) {
	if opts.MaxAppendSize <= 0 {
		opts.MaxAppendSize = DefaultMaxAppendSize
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("esdbdouble: listen: %w", err)
	}
	s := &Server{lis: lis, grpc: grpc.NewServer(), log: newEventLog(), done: make(chan struct{})}
	s.streams = &streams{log: s.log, maxAppendSize: opts.MaxAppendSize, drops: map[chan struct{}]struct{}{}}
	api.RegisterStreamsServer(s.grpc, s.streams)
	serverfeatures.RegisterServerFeaturesServer(s.grpc, features{})
	go func() {
		defer close(s.done)
		_ = s.grpc.Serve(lis) // returns when Stop closes the listener
	}()
	return s, nil
}

// URL is the connection string for esdb.ParseConnectionString.
func (s *Server) URL() string {
	return "esdb://" + s.lis.Addr().String() + "?tls=false"
}

// Stop closes every connection, ending open subscriptions, and waits for
// the server to finish.
func (s *Server) Stop() {
	s.grpc.Stop()
	<-s.done
}

// DropSubscriptions ends every open subscription with Unavailable, as a
// server restart or a lost connection would, while the server keeps
// running. Clients must resubscribe to go on.
func (s *Server) DropSubscriptions() {
	s.streams.mu.Lock()
	defer s.streams.mu.Unlock()
	for drop := range s.streams.drops {
		close(drop)
		delete(s.streams.drops, drop)
	}
}

// streams implements the Streams service.
type streams struct {
	api.UnimplementedStreamsServer
	log           *eventLog
	maxAppendSize int

	mu    sync.Mutex
	drops map[chan struct{}]struct{} // one per open subscription
}

// track registers a subscription for DropSubscriptions; release forgets it.
func (s *streams) track() (dropped <-chan struct{}, release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.drops[ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.drops, ch)
		s.mu.Unlock()
	}
}

// features implements ServerFeatures so the client learns the version and
// that BatchAppend is not offered.
type features struct {
	serverfeatures.UnimplementedServerFeaturesServer
}

func (features) GetSupportedMethods(context.Context, *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	const svc = "event_store.client.streams.streams"
	methods := []*serverfeatures.SupportedMethod{}
	for _, m := range []string{"read", "append", "delete", "tombstone"} {
		methods = append(methods, &serverfeatures.SupportedMethod{MethodName: m, ServiceName: svc})
	}
	return &serverfeatures.SupportedMethods{Methods: methods, EventStoreServerVersion: ServerVersion}, nil
}
