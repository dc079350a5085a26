package platform

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

const schema = `
SELECT pg_advisory_xact_lock(7308012217015);
-- Apps by id: which account owns an app and its quotas, for the checks made
-- on every app request. Written after the app's event; the stream is the record.
CREATE TABLE IF NOT EXISTS platform_apps (
	app_id     text PRIMARY KEY,
	account_id text NOT NULL,
	client     text NOT NULL UNIQUE,
	app_type   text NOT NULL,
	per_minute integer NOT NULL CHECK (per_minute > 0),
	per_day    integer NOT NULL CHECK (per_day > 0)
);
CREATE INDEX IF NOT EXISTS platform_apps_account ON platform_apps (account_id);
-- The channels the app serves, as its events say; NULL on rows written
-- before the column (not checked until the app's channels change).
ALTER TABLE platform_apps ADD COLUMN IF NOT EXISTS channels text[];
-- Request counters per key (an app, a registering address), period and
-- window start, shared by every instance.
-- The registered electronic channel apps, for listing them; each channel's
-- stream is the record. Written after the registration's event.
CREATE TABLE IF NOT EXISTS platform_channels (
	code          text PRIMARY KEY,
	registered_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS platform_counters (
	key          text NOT NULL,
	period       text NOT NULL CHECK (period IN ('minute', 'day', 'hour')),
	window_start timestamptz NOT NULL,
	count        integer NOT NULL,
	PRIMARY KEY (key, period, window_start)
);
-- For the sweep of ended windows (PruneCounters).
CREATE INDEX IF NOT EXISTS platform_counters_window ON platform_counters (window_start);`

// Migrate creates the platform tables; safe to run concurrently.
func Migrate(ctx context.Context, db *pgxpool.Pool) error {
	if _, err := db.Exec(ctx, schema); err != nil {
		return fmt.Errorf("migrate platform tables: %w", err)
	}
	return nil
}

// appRow is an app's row in platform_apps.
type appRow struct {
	AppID, AccountID, Client, Type string
	PerMinute, PerDay              int
	Channels                       []string // nil: not recorded (a row from before the column)
}

var errNoApp = errors.New("no such app")

func getApp(ctx context.Context, db *pgxpool.Pool, id string) (appRow, error) {
	return queryApp(ctx, db, "app_id", id)
}

// getAppOfClient finds the app of an api_clients name.
func getAppOfClient(ctx context.Context, db *pgxpool.Pool, client string) (appRow, error) {
	return queryApp(ctx, db, "client", client)
}

func queryApp(ctx context.Context, db *pgxpool.Pool, column, id string) (appRow, error) {
	var r appRow
	err := db.QueryRow(ctx, `SELECT app_id, account_id, client, app_type, per_minute, per_day, channels FROM platform_apps WHERE `+column+` = $1`, id).
		Scan(&r.AppID, &r.AccountID, &r.Client, &r.Type, &r.PerMinute, &r.PerDay, &r.Channels)
	if errors.Is(err, pgx.ErrNoRows) {
		return appRow{}, errNoApp
	}
	if err != nil {
		return appRow{}, fmt.Errorf("get app %s: %w", id, err)
	}
	return r, nil
}

// putApp writes the app's row: made, or its quotas and channels set to
// r's (which come from the app's stream: the row follows the events).
func putApp(ctx context.Context, db *pgxpool.Pool, r appRow) error {
	_, err := db.Exec(ctx, `INSERT INTO platform_apps (app_id, account_id, client, app_type, per_minute, per_day, channels)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (app_id) DO UPDATE
		SET per_minute = EXCLUDED.per_minute, per_day = EXCLUDED.per_day, channels = EXCLUDED.channels`,
		r.AppID, r.AccountID, r.Client, r.Type, r.PerMinute, r.PerDay, r.Channels)
	if err != nil {
		return fmt.Errorf("record app %s: %w", r.AppID, err)
	}
	return nil
}

// beijing is the zone of quota days: a day is a calendar day where the
// apps' users live.
var beijing = time.FixedZone("CST", 8*3600)

// window is one counting window.
type window struct {
	Period string // minute, hour or day
	Start  time.Time
	End    time.Time
	Limit  int
}

func windowOf(period string, now time.Time, limit int) window {
	var start, end time.Time
	switch period {
	case "minute":
		start = now.Truncate(time.Minute)
		end = start.Add(time.Minute)
	case "hour":
		start = now.Truncate(time.Hour)
		end = start.Add(time.Hour)
	default:
		t := now.In(beijing)
		start = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, beijing)
		end = start.AddDate(0, 0, 1)
	}
	return window{Period: period, Start: start.UTC(), End: end.UTC(), Limit: limit}
}

// spend counts one request of key in every window, atomically: either
// each window had room and each is counted, or none is and the first full
// window is returned.
func spend(ctx context.Context, db *pgxpool.Pool, key string, windows ...window) (full *window, err error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("count request of %s: %w", key, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	for i, w := range windows {
		var n int
		err := tx.QueryRow(ctx, `INSERT INTO platform_counters (key, period, window_start, count) VALUES ($1, $2, $3, 1)
			ON CONFLICT (key, period, window_start) DO UPDATE SET count = platform_counters.count + 1
			WHERE platform_counters.count < $4 RETURNING count`, key, w.Period, w.Start, w.Limit).Scan(&n)
		if errors.Is(err, pgx.ErrNoRows) {
			return &windows[i], nil
		}
		if err != nil {
			return nil, fmt.Errorf("count request of %s: %w", key, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("count request of %s: %w", key, err)
	}
	return nil, nil
}

// CounterGrace is how long a counter row outlives its window before
// PruneCounters deletes it: instances' clocks may differ a little, and a
// row deleted while one still counts in its window would start it again.
const CounterGrace = time.Hour

// PruneCounters deletes request counters (platform_counters: the apps'
// minutes and Beijing days, the registrations' hours) whose window ended
// more than CounterGrace before now, batch rows per statement; it returns
// how many it deleted. Nothing reads an ended window (usage shows the
// current ones), and one row per app per minute would otherwise grow
// without end.
func PruneCounters(ctx context.Context, db *pgxpool.Pool, now time.Time, batch int) (int64, error) {
	var total int64
	for {
		tag, err := db.Exec(ctx, `DELETE FROM platform_counters WHERE ctid = ANY (ARRAY(
			SELECT ctid FROM platform_counters WHERE window_start < $1::timestamptz - $2::interval - interval '1 minute'
			AND window_start + CASE period WHEN 'minute' THEN interval '1 minute' WHEN 'hour' THEN interval '1 hour'
				ELSE interval '1 day' END < $1::timestamptz - $2::interval
			LIMIT $3))`, now, CounterGrace, batch)
		if err != nil {
			return total, fmt.Errorf("delete ended request counters: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < int64(batch) {
			return total, nil
		}
	}
}

// used reads the count of key in w.
func used(ctx context.Context, db *pgxpool.Pool, key string, w window) (int, error) {
	var n int
	err := db.QueryRow(ctx, `SELECT coalesce(max(count), 0) FROM platform_counters WHERE key = $1 AND period = $2 AND window_start = $3`,
		key, w.Period, w.Start).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("read usage of %s: %w", key, err)
	}
	return n, nil
}

// ErrNoApp: no app with that id (or client).
var ErrNoApp = errNoApp

// AppIDOf is the app id of an app's client name ("app-<id>").
func AppIDOf(client string) (string, bool) {
	id, ok := strings.CutPrefix(client, appClientPrefix)
	return id, ok && id != ""
}

// AppAccount is the account and type of app id (ErrNoApp when none), for
// modules that bind apps (payments binds merchants to apps).
func AppAccount(ctx context.Context, db *pgxpool.Pool, id string) (account, appType string, err error) {
	r, err := getApp(ctx, db, id)
	return r.AccountID, r.Type, err
}

// AppServes reports whether app id serves channel (domain.AppChannels),
// as its row says now, so a change takes effect at once on every
// instance. An app whose row predates the recorded channels serves every
// channel until its channels are changed; an unknown app is ErrNoApp.
func AppServes(ctx context.Context, db *pgxpool.Pool, id, channel string) (bool, error) {
	r, err := getApp(ctx, db, id)
	if err != nil {
		return false, err
	}
	return r.Channels == nil || slices.Contains(r.Channels, channel), nil
}

func putChannel(ctx context.Context, db *pgxpool.Pool, code string) error {
	if _, err := db.Exec(ctx, `INSERT INTO platform_channels (code) VALUES ($1) ON CONFLICT (code) DO NOTHING`, code); err != nil {
		return fmt.Errorf("record channel %s: %w", code, err)
	}
	return nil
}

func channelCodes(ctx context.Context, db *pgxpool.Pool) ([]string, error) {
	rows, err := db.Query(ctx, `SELECT code FROM platform_channels ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("list channels: %w", err)
	}
	codes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list channels: %w", err)
	}
	return codes, nil
}
