package auth_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/cardledger/cardledger/internal/auth"
)

// The price of the shared rate limit: one Take per authenticated request,
// many clients (one row each) and one hot client (every request on one
// row, the worst case), from 16 goroutines; and one caller alone, whose
// time per operation is the latency a request gains.
//
//	go test ./internal/auth -run '^$' -bench RateBucketsTake -benchtime 20000x
func BenchmarkRateBucketsTake(b *testing.B) {
	pool := newPool(b)
	b.Run("one-caller", func(b *testing.B) { // the latency one request adds
		buckets := auth.NewRateBuckets(pool)
		for range b.N {
			if _, _, err := buckets.Take(context.Background(), "alone", 1e9, 1e9); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, hot := range []bool{false, true} {
		b.Run(fmt.Sprintf("hot=%v", hot), func(b *testing.B) {
			buckets := auth.NewRateBuckets(pool)
			var n atomic.Int64
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					key := "hot"
					if !hot {
						key = fmt.Sprint("client-", n.Add(1)%1000)
					}
					if _, _, err := buckets.Take(context.Background(), key, 1e9, 1e9); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
