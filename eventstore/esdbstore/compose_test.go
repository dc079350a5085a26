package esdbstore

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

// composeServices splits docker-compose.yml into its services' blocks of
// text, by name. No YAML library is a dependency of the module; the check
// only needs each service's lines.
func composeServices(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	services := map[string]string{}
	name := ""
	header := regexp.MustCompile(`^  ([a-z0-9-]+):`)
	for _, line := range strings.Split(string(b), "\n") {
		if m := header.FindStringSubmatch(line); m != nil {
			name = m[1]
		} else if line != "" && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "#") {
			name = "" // a new top-level key
		}
		if name != "" {
			services[name] += line + "\n"
		}
	}
	return services
}

// TestComposeClusterProfileIsConsistent: the cluster service's connection
// string is one the client reads as a cluster with the leader preferred,
// and every gossip seed in it is a node of the profile that listens on,
// publishes and advertises that host and port (the client connects to what
// gossip advertises). `docker-compose config` in make test checks the
// file's syntax; this checks what only the client can.
func TestComposeClusterProfileIsConsistent(t *testing.T) {
	services := composeServices(t)
	svc, ok := services["cardledger-cluster"]
	if !ok || !strings.Contains(svc, "profiles: [cluster]") {
		t.Fatal("docker-compose.yml has no cardledger-cluster service in the cluster profile")
	}
	m := regexp.MustCompile(`CARDLEDGER_EVENTSTORE_URL: "([^"]+)"`).FindStringSubmatch(svc)
	if m == nil {
		t.Fatal("cardledger-cluster sets no CARDLEDGER_EVENTSTORE_URL")
	}
	conf, err := esdb.ParseConnectionString(m[1])
	if err != nil {
		t.Fatalf("the client refuses %q: %v", m[1], err)
	}
	if len(conf.GossipSeeds) != 3 || conf.NodePreference != esdb.NodePreferenceLeader || !conf.DisableTLS {
		t.Fatalf("%q: %d gossip seeds, preference %s, tls disabled %v; want 3 seeds, the leader, tls=false (the nodes are insecure)",
			m[1], len(conf.GossipSeeds), conf.NodePreference, conf.DisableTLS)
	}
	for _, seed := range conf.GossipSeeds {
		node, ok := services[seed.Host]
		if !ok {
			t.Errorf("seed %s is no service of docker-compose.yml", seed)
			continue
		}
		// node2 and node3 inherit these from node1's anchor.
		for _, want := range []string{"profiles: [cluster]", `EVENTSTORE_CLUSTER_SIZE: "3"`} {
			if !strings.Contains(node, want) && !strings.Contains(services["esdb-node1"], want) {
				t.Errorf("service %s lacks %s", seed.Host, want)
			}
		}
		for _, want := range []string{
			fmt.Sprintf(`EVENTSTORE_NODE_PORT: "%d"`, seed.Port),
			fmt.Sprintf(`EVENTSTORE_ADVERTISE_HOST_TO_CLIENT_AS: "%s"`, seed.Host),
			fmt.Sprintf(`EVENTSTORE_ADVERTISE_NODE_PORT_TO_CLIENT_AS: "%d"`, seed.Port),
			fmt.Sprintf(`"127.0.0.1:%d:%d"`, seed.Port, seed.Port),
		} {
			if !strings.Contains(node, want) {
				t.Errorf("service %s lacks %s", seed.Host, want)
			}
		}
	}
}
