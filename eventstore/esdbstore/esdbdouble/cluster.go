package esdbdouble

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/gossip"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/google/uuid"
)

// Cluster is a double of an EventStoreDB cluster: nodes on their own ports
// over one shared log, one of them the leader. Replication is instant and
// never loses a write, so a leader change moves no data; what it changes is
// what the nodes answer (see the package doc).
type Cluster struct {
	Nodes []*Server

	mu     sync.Mutex
	leader int
	ids    []uuid.UUID
}

// StartCluster starts n nodes sharing one empty log; node 0 leads.
func StartCluster(n int) (*Cluster, error) { return startCluster(n, Options{}) }

func startCluster(n int, opts Options) (*Cluster, error) {
	if n < 1 {
		return nil, fmt.Errorf("esdbdouble: a cluster needs a node, got %d", n)
	}
	c := &Cluster{}
	log := newEventLog()
	log.noIdempotence = opts.NoIdempotence
	for range n {
		s := newNode(c, log, opts)
		if err := s.listen("127.0.0.1:0"); err != nil {
			c.Stop()
			return nil, err
		}
		c.Nodes = append(c.Nodes, s)
		c.ids = append(c.ids, uuid.New())
	}
	return c, nil
}

// URL is the cluster's connection string: every node as a gossip seed and
// nodePreference=leader, as cardledger is configured for a real cluster.
// The client asks a seed's gossip for the members and connects to the
// leader.
func (c *Cluster) URL() string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr()
	}
	return "esdb://" + strings.Join(addrs, ",") + "?tls=false&nodePreference=leader"
}

// SetLeader makes node i the leader and every other node a follower, as an
// election after the old leader resigned, crashed or was partitioned away.
func (c *Cluster) SetLeader(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.leader = i
}

// Leader is the leading node.
func (c *Cluster) Leader() *Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Nodes[c.leader]
}

// Stop stops every node.
func (c *Cluster) Stop() {
	for _, n := range c.Nodes {
		n.Stop()
	}
}

// leads reports whether s is the leader, and the leader's endpoint.
func (c *Cluster) leads(s *Server) (bool, string, int) {
	c.mu.Lock()
	leader := c.Nodes[c.leader]
	c.mu.Unlock()
	host, port, _ := net.SplitHostPort(leader.Addr())
	p, _ := strconv.Atoi(port)
	return leader == s, host, p
}

// gossipServer answers Gossip.Read, which the client calls only in cluster
// mode (several hosts or DNS discovery in the connection string): it
// lists every node with its state and gRPC endpoint. A stopped node is
// listed as dead, an unavailable one as still catching up; the client
// connects to neither.
type gossipServer struct {
	gossip.UnimplementedGossipServer
	cluster *Cluster
}

func (g gossipServer) Read(context.Context, *shared.Empty) (*gossip.ClusterInfo, error) {
	c := g.cluster
	info := &gossip.ClusterInfo{}
	for i, n := range c.Nodes {
		leads, _, _ := c.leads(n)
		state := gossip.MemberInfo_Follower
		switch {
		case !n.running():
			state = gossip.MemberInfo_Shutdown
		case n.faults.isUnavailable():
			state = gossip.MemberInfo_CatchingUp
		case leads:
			state = gossip.MemberInfo_Leader
		}
		host, port, _ := net.SplitHostPort(n.Addr())
		p, _ := strconv.Atoi(port)
		info.Members = append(info.Members, &gossip.MemberInfo{
			InstanceId:   uuidToProto(c.ids[i], false),
			TimeStamp:    time.Now().UnixNano() / 100,
			State:        state,
			IsAlive:      n.running(),
			HttpEndPoint: &gossip.EndPoint{Address: host, Port: uint32(p)},
		})
	}
	return info, nil
}
