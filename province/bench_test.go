package province

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
)

// BenchmarkCardsLookup is the cost the first-issue rule adds to a first
// application: one lookup over loopback HTTP (JSON both ways, strict
// decoding) against the simulator holding 10,000 people's records.
func BenchmarkCardsLookup(b *testing.B) {
	sim, err := NewSimulator(SimulatorOptions{})
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, 10_000)
	for i := range ids {
		first := fmt.Sprintf("11010519900101%03d", i%1000)
		ids[i] = first + string(domain.IDCheckChar(first))
		if err := sim.Put(commands.ProvinceCard{IDNumber: ids[i], ProvincialCard: domain.ProvincialCard{
			CardNo: fmt.Sprintf("B%08d", i), Region: "110105", Status: domain.StatusActive}}); err != nil {
			b.Fatal(err)
		}
	}
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	c, err := NewClient(srv.URL, "", 5*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		if _, err := c.Cards(ctx, ids[i%len(ids)]); err != nil {
			b.Fatal(err)
		}
	}
}
