package config

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cardledger/cardledger/domain"
)

// Fees is the replacement fee (工本费) and the non-tax POS (docs/fees.md).
type Fees struct {
	// AmountFen is the fee of a replacement in fen; 0 charges none.
	AmountFen int64
	// Exemptions are the categories granted: elderly, hardship, card_defect.
	Exemptions []string
	// ElderlyAge is the age from which the elderly exemption applies.
	ElderlyAge int
	// POSURL is the non-tax POS gateway's base URL; "" disables collection.
	POSURL string
	// POSTimeout bounds each try of a payment notice (three tries).
	POSTimeout time.Duration
}

var feeSettings = []Setting{
	{"CARDLEDGER_REPLACEMENT_FEE_FEN", "replacement-fee-fen", "0", "replacement fee (补换卡工本费) in fen, e.g. 2000 for 20 yuan; 0 charges none (no fee is recorded)"},
	{"CARDLEDGER_FEE_EXEMPTIONS", "fee-exemptions", "elderly,hardship,card_defect", "comma-separated exemption categories granted; empty grants none"},
	{"CARDLEDGER_FEE_ELDERLY_AGE", "fee-elderly-age", "70", "age in whole years from which the elderly exemption applies"},
	{"CARDLEDGER_POS_URL", "pos-url", "(empty: no collection)", "base URL of the non-tax POS gateway (非税收入 POS) that takes payment notices (`cardledger simulate pos`)"},
	{"CARDLEDGER_POS_TIMEOUT", "pos-timeout", "5s", "timeout of each try of a payment notice to the POS (three tries)"},
}

// feeFlags registers the fee flags on fs; apply reads them after Parse.
func feeFlags(fs *flag.FlagSet, env func(name, def string) string) (apply func(*Config) error) {
	amount := fs.String("replacement-fee-fen", env("CARDLEDGER_REPLACEMENT_FEE_FEN", "0"), "replacement fee in fen")
	exemptions := fs.String("fee-exemptions", env("CARDLEDGER_FEE_EXEMPTIONS", "elderly,hardship,card_defect"), "fee exemption categories")
	age := fs.String("fee-elderly-age", env("CARDLEDGER_FEE_ELDERLY_AGE", "70"), "age of the elderly exemption")
	posURL := fs.String("pos-url", env("CARDLEDGER_POS_URL", ""), "non-tax POS gateway URL")
	timeout := fs.String("pos-timeout", env("CARDLEDGER_POS_TIMEOUT", "5s"), "timeout of a payment notice try")
	return func(c *Config) error {
		var err error
		f := &c.Fees
		if f.AmountFen, err = strconv.ParseInt(*amount, 10, 64); err != nil || f.AmountFen < 0 {
			return fmt.Errorf("CARDLEDGER_REPLACEMENT_FEE_FEN / --replacement-fee-fen: want fen as a whole number ≥ 0, got %q", *amount)
		}
		for _, e := range strings.Split(*exemptions, ",") {
			switch e = strings.TrimSpace(e); e {
			case "":
			case "elderly", "hardship", "card_defect":
				f.Exemptions = append(f.Exemptions, e)
			default:
				return fmt.Errorf("CARDLEDGER_FEE_EXEMPTIONS / --fee-exemptions: %q is not elderly, hardship or card_defect", e)
			}
		}
		if f.ElderlyAge, err = strconv.Atoi(*age); err != nil || f.ElderlyAge < 1 || f.ElderlyAge > 150 {
			return fmt.Errorf("CARDLEDGER_FEE_ELDERLY_AGE / --fee-elderly-age: want years from 1 to 150, got %q", *age)
		}
		f.POSURL = *posURL
		if f.POSURL != "" && !strings.HasPrefix(f.POSURL, "http://") && !strings.HasPrefix(f.POSURL, "https://") {
			return fmt.Errorf("CARDLEDGER_POS_URL / --pos-url: want an http(s) URL, got %q", f.POSURL)
		}
		if f.POSTimeout, err = time.ParseDuration(*timeout); err != nil || f.POSTimeout <= 0 {
			return fmt.Errorf("CARDLEDGER_POS_TIMEOUT / --pos-timeout: want a positive duration like 5s, got %q", *timeout)
		}
		return nil
	}
}

// Schedule is the fee schedule the domain applies.
func (f Fees) Schedule() domain.FeeSchedule {
	s := domain.FeeSchedule{AmountFen: f.AmountFen, ElderlyAge: f.ElderlyAge}
	for _, e := range f.Exemptions {
		s.Exemptions = append(s.Exemptions, domain.FeeExemption(e))
	}
	return s
}
