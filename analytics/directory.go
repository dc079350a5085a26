package analytics

import (
	"context"
	"sync"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
)

// CardNumbersDirectory answers KnownCards from the card-number reservation
// streams (commands.CardNumbers.Resolve), which exist as soon as a number
// is assigned: usage for a card issued a moment ago is accepted without
// waiting for any projection.
type CardNumbersDirectory struct {
	Numbers *commands.CardNumbers
}

// KnownCards resolves the numbers several at a time.
func (d CardNumbersDirectory) KnownCards(ctx context.Context, cardNos []string) (map[string]bool, error) {
	const parallel = 8
	known := make(map[string]bool, len(cardNos))
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		first error
		next  = make(chan string)
	)
	for w := 0; w < min(parallel, len(cardNos)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for no := range next {
				_, err := d.Numbers.Resolve(ctx, no)
				mu.Lock()
				switch {
				case err == nil:
					known[no] = true
				case domain.HasCode(err, domain.CodeCardNotFound) || domain.KindOf(err) == domain.KindInvalid:
				default:
					if first == nil {
						first = err
					}
				}
				mu.Unlock()
			}
		}()
	}
	for _, no := range cardNos {
		next <- no
	}
	close(next)
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return known, nil
}
