package esdbdouble

import (
	"context"
	"strconv"
	"sync"

	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// faults are a node's switchable misbehaviours.
type faults struct {
	mu          sync.Mutex
	unavailable bool
	lostReplies int
	served      FaultCounts
}

// FaultCounts count the faulty answers a node gave, so a test can show
// that its faults were met.
type FaultCounts struct {
	NotLeader, Unavailable, LostReplies int
}

// Faults counts the faulty answers the node gave so far.
func (s *Server) Faults() FaultCounts {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.served
}

func (f *faults) count(add func(*FaultCounts)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	add(&f.served)
}

func (f *faults) isUnavailable() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unavailable
}

// takeLostReply consumes one lost reply, if any is pending.
func (f *faults) takeLostReply() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lostReplies == 0 {
		return false
	}
	f.lostReplies--
	f.served.LostReplies++
	return true
}

// SetUnavailable makes every Streams call answer Unavailable ("Server Is
// Not Ready", as a node that is starting, catching up or too busy does)
// until it is switched off. Switching it on drops open subscriptions, as a
// node changing state does. Gossip lists the node as catching up.
func (s *Server) SetUnavailable(on bool) {
	s.faults.mu.Lock()
	s.faults.unavailable = on
	s.faults.mu.Unlock()
	if on {
		s.DropSubscriptions()
	}
}

// LoseAppendReplies makes the next n appends that write events answer
// Unavailable after writing them: the client cannot know whether they
// landed, as when a leader goes away after replicating a write or a
// commit times out.
func (s *Server) LoseAppendReplies(n int) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.lostReplies = n
}

// check is what a node answers before serving a Streams call: Unavailable
// while so switched, and "not leader" to a request that requires the leader
// when the node follows. Other requests to a follower are served from the
// shared log: the server forwards writes to the leader and serves reads
// itself unless the leader is required.
func (s *Server) check(ctx context.Context) (trailer metadata.MD, err error) {
	if s.faults.isUnavailable() {
		s.faults.count(func(c *FaultCounts) { c.Unavailable++ })
		return nil, status.Error(codes.Unavailable, "Server Is Not Ready")
	}
	leads, host, port := s.cluster.leads(s)
	if leads || !requiresLeader(ctx) {
		return nil, nil
	}
	s.faults.count(func(c *FaultCounts) { c.NotLeader++ })
	// RpcExceptions.LeaderInfo: the client reconnects to this endpoint.
	return metadata.Pairs("exception", "not-leader",
			"leader-endpoint-host", host, "leader-endpoint-port", strconv.Itoa(port)),
		status.Error(codes.NotFound, "Leader info available")
}

// requiresLeader reads the "requires-leader" request header.
func requiresLeader(ctx context.Context) bool {
	md, _ := metadata.FromIncomingContext(ctx)
	v := md.Get("requires-leader")
	return len(v) > 0 && v[0] == "true"
}

func (s *Server) unaryFaults(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if isStreams(info.FullMethod) {
		if trailer, err := s.check(ctx); err != nil {
			if trailer != nil {
				_ = grpc.SetTrailer(ctx, trailer)
			}
			return nil, err
		}
	}
	return handler(ctx, req)
}

func (s *Server) streamFaults(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if isStreams(info.FullMethod) {
		if trailer, err := s.check(ss.Context()); err != nil {
			if info.IsClientStream {
				// The server reads a whole append before it finds it cannot
				// take it; refusing earlier leaves the client with EOF.
				for ss.RecvMsg(new(api.AppendReq)) == nil {
				}
			}
			if trailer != nil {
				ss.SetTrailer(trailer)
			}
			return err
		}
	}
	return handler(srv, ss)
}
