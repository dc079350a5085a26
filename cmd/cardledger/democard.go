package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardledger/cardledger/projections/readmodel"
)

// runDemoCard prints the emulator options (scripts/pcsc's CARD_ARGS) of an
// active card of this city, so that the counter demo
// (scripts/counter-demo.sh) puts a card the system knows into the virtual
// reader, not the emulator's default card, which no demo city has.
func runDemoCard(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("demo-card", flag.ContinueOnError)
	d, err := parseConfig(env, fs, args)
	if err != nil {
		return err
	}
	defer d.close()
	pool, err := d.openPool(ctx)
	if err != nil {
		return err
	}
	var c demoCard
	var issued, expires *time.Time
	// The first active current card of a living, unerased holder of this
	// city, by card number: the same card every time for one city.
	err = pool.QueryRow(ctx, `SELECT c.card_no, h.id_number, h.name, h.sex, h.birth_date, h.region_code, c.issued_on, c.expires_on
		FROM `+readmodel.Schema+`.cards c JOIN `+readmodel.Schema+`.cardholders h ON h.stream = c.stream
		WHERE c.is_current AND c.status = 'active' AND NOT h.deceased AND h.name <> '[erased]'
			AND left(h.region_code, 4) = $1
		ORDER BY c.card_no LIMIT 1`, d.cfg.CityCode[:4]).
		Scan(&c.cardNo, &c.idNumber, &c.name, &c.sex, &c.birth, &c.region, &issued, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return errors.New("no active card of this city in the read model: seed the demo city first (cardledger seed, or make run) and let serve's projections catch up")
	}
	if err != nil {
		return fmt.Errorf("find a card of the city: %w", err)
	}
	if issued == nil || expires == nil {
		return fmt.Errorf("card %s has no issue or expiry date", c.cardNo)
	}
	fmt.Fprintln(env.stdout, c.args(*issued, *expires))
	return nil
}

type demoCard struct {
	cardNo, idNumber, name, sex, birth, region string
}

// args are sscard_vicc.py's options for the card: GB/T 2261.1 sex codes,
// dates as YYYYMMDD. A name with spaces (none in the demo city) would be
// split by the script, so spaces are dropped.
func (c demoCard) args(issued, expires time.Time) string {
	sex := "1"
	if c.sex == "female" {
		sex = "2"
	}
	return strings.Join([]string{
		"--card-number", c.cardNo, "--ssn", c.idNumber, "--name", strings.ReplaceAll(c.name, " ", ""),
		"--sex", sex, "--birth", strings.ReplaceAll(c.birth, "-", ""), "--birthplace", c.region,
		"--region", c.region[:4] + "00", "--issue-date", issued.Format("20060102"), "--expiry-date", expires.Format("20060102"),
	}, " ")
}
