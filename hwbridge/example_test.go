package hwbridge_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/cardledger/cardledger/hwbridge"
)

// The counter loop: wait for a card, read it, check the PIN, wait for the
// card to leave. (Compiled, not run: it needs a reader.)
func Example() {
	ctx := context.Background()
	r, err := hwbridge.Open(ctx, "Virtual PCD 00 00") // a configured name, never "the first reader"
	if err != nil {
		log.Fatal(err) // errors.Is(err, hwbridge.ErrNoReader): wrong name or reader unplugged
	}
	defer r.Close()
	for {
		if _, err := r.WaitForCard(ctx); err != nil {
			log.Printf("wait for card: %v", err) // ErrCardMute: card inserted the wrong way round
			if err := r.WaitForRemoval(ctx); err != nil {
				return
			}
			continue
		}
		readCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		card, err := r.ReadCard(readCtx)
		switch {
		case errors.Is(err, hwbridge.ErrNotSocialSecurityCard):
			log.Print("not a social-security card")
		case errors.Is(err, hwbridge.ErrPINRequired):
			log.Print("holder data needs the PIN first")
		case errors.Is(err, hwbridge.ErrCardRemoved):
			log.Print("card pulled out too early")
		case err != nil:
			log.Printf("read failed: %v", err)
		default:
			if err := card.ValidAt(time.Now()); err != nil {
				log.Printf("card %s: %v", card.Ident.Number, err) // ErrCardExpired
			}
			pin, err := hwbridge.ParsePIN("123456") // from the PIN pad; never logged
			if err == nil {
				res, err := r.VerifyPIN(readCtx, pin)
				log.Printf("PIN: %v %v", res, err) // "wrong, 2 tries left", "blocked", "verified"
			}
		}
		cancel()
		if err := r.WaitForRemoval(ctx); err != nil {
			return
		}
	}
}
