package esdbdouble

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/gossip"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc"
)

// ServerVersion is the EventStoreDB version the double reports.
const ServerVersion = "24.10.0"

// Server is one running node of a double. A Server from Start or StartWith
// is a one-node cluster with its own empty log; the nodes of a Cluster
// share one log.
type Server struct {
	addr    string // fixed at the first listen, so Restart keeps the port
	log     *eventLog
	streams *streams
	cluster *Cluster
	faults  faults

	mu      sync.Mutex
	grpc    *grpc.Server // nil while stopped
	done    chan struct{}
	stopped bool
}

// DefaultMaxAppendSize is EventStoreDB's default MaxAppendSize.
const DefaultMaxAppendSize = 1 << 20

// Options change a double's settings from EventStoreDB's defaults.
type Options struct {
	// MaxAppendSize is the server setting of that name, in bytes (0:
	// DefaultMaxAppendSize).
	MaxAppendSize int
	// NoIdempotence makes the node answer a resent append (same ids after
	// the same revision) with wrong expected version instead of success,
	// as EventStoreDB does when its id check misses: with any or
	// stream_exists it consults only a bounded cache.
	NoIdempotence bool
}

// Start listens on a free port of 127.0.0.1 and serves until Stop.
func Start() (*Server, error) { return StartWith(Options{}) }

// StartWith is Start with settings other than the defaults.
func StartWith(opts Options) (*Server, error) {
	c, err := startCluster(1, opts)
	if err != nil {
		return nil, err
	}
	return c.Nodes[0], nil
}

func newNode(c *Cluster, log *eventLog, opts Options) *Server {
	if opts.MaxAppendSize <= 0 {
		opts.MaxAppendSize = DefaultMaxAppendSize
	}
	s := &Server{log: log, cluster: c}
	s.streams = &streams{log: log, maxAppendSize: opts.MaxAppendSize, drops: map[chan struct{}]struct{}{}, node: s}
	return s
}

// listen serves on addr ("127.0.0.1:0" the first time). Restarting on the
// same port may need a moment while the old listener's port is released.
func (s *Server) listen(addr string) error {
	var (
		lis net.Listener
		err error
	)
	for range 50 {
		if lis, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("esdbdouble: listen on %s: %w", addr, err)
	}
	g := grpc.NewServer(grpc.ChainUnaryInterceptor(s.unaryFaults), grpc.ChainStreamInterceptor(s.streamFaults))
	api.RegisterStreamsServer(g, s.streams)
	serverfeatures.RegisterServerFeaturesServer(g, features{})
	gossip.RegisterGossipServer(g, gossipServer{cluster: s.cluster})
	done := make(chan struct{})
	s.addr, s.grpc, s.done, s.stopped = lis.Addr().String(), g, done, false
	go func() {
		defer close(done)
		_ = g.Serve(lis) // returns when Stop closes the listener
	}()
	return nil
}

// Addr is the node's host:port; it stays the same across Restart.
func (s *Server) Addr() string { return s.addr }

// URL is the connection string of this node alone, for
// esdb.ParseConnectionString.
func (s *Server) URL() string {
	return "esdb://" + s.addr + "?tls=false"
}

// Stop closes every connection, ending open subscriptions, and waits for
// the server to finish. The log is kept, as on a node's disk: Restart
// serves it again. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	g, done := s.grpc, s.done
	s.grpc, s.stopped = nil, true
	s.mu.Unlock()
	if g == nil {
		return
	}
	g.Stop()
	<-done
}

// Restart serves again on the same address after Stop, with the log as it
// was: a node coming back from a crash or a restart.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.grpc != nil {
		return errors.New("esdbdouble: restart of a running server")
	}
	return s.listen(s.addr)
}

// running reports whether the node serves now (for gossip).
func (s *Server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grpc != nil
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
	node          *Server

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

// streamsService prefixes the full method names of the Streams service,
// the only service faults apply to.
const streamsService = "/event_store.client.streams.Streams/"

func isStreams(fullMethod string) bool { return strings.HasPrefix(fullMethod, streamsService) }
