package readapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// Blacklist feed limits.
const (
	MaxChangesLimit = 10000
	DefaultChanges  = 1000
	MaxLongPoll     = 30 * time.Second
	// longPollTick bounds the wake-up delay when a notification is missed
	// (e.g. the projection runs in another process and the listener is
	// reconnecting).
	longPollTick = 250 * time.Millisecond
	// After a wake-up, a feed served by a replica polls it this often, this
	// many times, for the change the primary just stored.
	replicaWakeTick  = 10 * time.Millisecond
	replicaWakePolls = 20
)

// BlacklistEntry answers a lookup; Reason is the card status ("lost",
// "temporarily_lost", "cancelled:<cause>") and Since when the card got it.
type BlacklistEntry struct {
	CardNo string     `json:"card_no"`
	Listed bool       `json:"listed"`
	Reason string     `json:"reason,omitempty"`
	Since  *time.Time `json:"since,omitempty"`
}

// Change is one blacklist change. "add" lists a card or changes its reason
// (apply as an upsert); "remove" unlists it, with the card's new status as
// reason.
type Change struct {
	Seq    int64     `json:"seq"`
	CardNo string    `json:"card_no"`
	Op     string    `json:"op"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Changes is a page of the feed; Next is the after= of the following page.
type Changes struct {
	Changes []Change `json:"changes"`
	Next    int64    `json:"next"`
}

// SnapshotEntry is one listed card in a snapshot.
type SnapshotEntry struct {
	CardNo string    `json:"card_no"`
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
}

// Snapshot is the whole blacklist as of change Seq.
type Snapshot struct {
	Seq     int64           `json:"seq"`
	Entries []SnapshotEntry `json:"entries"`
}

func (a *API) blacklistRoutes() []httpapi.Route {
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/v1/blacklist/changes", Roles: rolesBlacklist, Handler: a.blacklistChanges,
			Summary: "Blacklist change feed: changes with seq > after (default 0), at most limit (default 1000, ≤10000), " +
				"in seq order; wait=30s long-polls until a change arrives. Apply every page in order, continue with after=next.",
			Response: Changes{Changes: []Change{{Seq: 42, CardNo: "A10984916", Op: "add", Reason: "lost", At: exampleAt}}, Next: 42},
			Params: []httpapi.Param{
				httpapi.Query("after", "Return changes with seq greater than this (the next of the previous page); default 0", 41),
				httpapi.Query("limit", "At most this many changes, 1 to 10000 (default 1000)", 1000),
				httpapi.Query("wait", "Long poll: wait up to this long (e.g. 30s, at most 30s; a bare number is seconds) for a change when there is none", "30s"),
				httpapi.MinPosition}},
		{Method: http.MethodGet, Path: "/v1/blacklist/snapshot", Roles: rolesBlacklist, Handler: a.blacklistSnapshot,
			Summary:  "Every listed card and the change seq the list is consistent with; continue with changes?after=seq.",
			Response: Snapshot{Seq: 42, Entries: []SnapshotEntry{{CardNo: "A10984916", Reason: "lost", Since: exampleAt}}},
			Params:   minPosition},
		{Method: http.MethodGet, Path: "/v1/blacklist/{card_no}", Roles: rolesBlacklist, Handler: a.blacklistLookup,
			// Open-platform apps of both types check a card before serving it.
			AppTypes: []string{domain.AppIdentityReading, domain.AppFinancialPayment},
			Summary:  "Whether a card is on the blacklist (lost, temporarily lost or cancelled), why, and since when. Accepts min_position.",
			Response: exampleListed, Params: minPosition},
	}
}

func (a *API) blacklistLookup(c echo.Context) error {
	if err := a.consistent(c); err != nil {
		return err
	}
	e := BlacklistEntry{CardNo: c.Param("card_no")}
	err := a.read.QueryRow(c.Request().Context(), "SELECT reason, since FROM "+a.t("blacklist")+" WHERE card_no = $1",
		e.CardNo).Scan(&e.Reason, &e.Since)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return err
	default:
		e.Listed = true
	}
	return c.JSON(http.StatusOK, e)
}

func (a *API) blacklistChanges(c echo.Context) error {
	after, err := queryInt(c, "after", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", DefaultChanges, 1, MaxChangesLimit)
	if err != nil {
		return err
	}
	var wait time.Duration
	if s := c.QueryParam("wait"); s != "" {
		wait, err = time.ParseDuration(s)
		if n, nerr := strconv.Atoi(s); nerr == nil {
			wait, err = time.Duration(n)*time.Second, nil
		}
		if err != nil || wait < 0 || wait > MaxLongPoll {
			return httpapi.BadRequest(CodeInvalidQuery, "wait must be a duration up to 30s, e.g. wait=30s",
				httpapi.FieldError{Field: "wait", Code: CodeInvalidQuery, Message: "want 0s..30s"})
		}
	}
	if err := a.consistent(c); err != nil {
		return err
	}
	ctx := c.Request().Context()
	deadline := time.Now().Add(wait)
	quick := 0 // polls left at replicaWakeTick
	for {
		wake := a.runner.Changed()
		page, err := a.changesAfter(ctx, int64(after), int(limit))
		if err != nil {
			return err
		}
		left := time.Until(deadline)
		if len(page.Changes) > 0 || left <= 0 {
			return c.JSON(http.StatusOK, page)
		}
		tick := longPollTick
		if quick > 0 {
			tick, quick = replicaWakeTick, quick-1
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
			if a.replica != nil {
				// The primary has the change; the replica replays it
				// a moment later.
				quick = replicaWakePolls
			}
		case <-time.After(min(left, tick)):
		}
	}
}

// ChangesAfter reads one page of the feed.
func (a *API) changesAfter(ctx context.Context, after int64, limit int) (Changes, error) {
	rows, err := a.read.Query(ctx, "SELECT seq, card_no, op, reason, at FROM "+a.t("blacklist_changes")+
		" WHERE seq > $1 ORDER BY seq LIMIT $2", after, limit)
	if err != nil {
		return Changes{}, err
	}
	out := Changes{Next: after}
	out.Changes, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Change, error) {
		var ch Change
		err := r.Scan(&ch.Seq, &ch.CardNo, &ch.Op, &ch.Reason, &ch.At)
		return ch, err
	})
	if err != nil {
		return Changes{}, err
	}
	if out.Changes == nil {
		out.Changes = []Change{}
	}
	if n := len(out.Changes); n > 0 {
		out.Next = out.Changes[n-1].Seq
	}
	return out, nil
}

// blacklistSnapshot streams the list; the seq and the entries come from one
// REPEATABLE READ transaction, so they describe the same instant.
func (a *API) blacklistSnapshot(c echo.Context) error {
	if err := a.consistent(c); err != nil {
		return err
	}
	ctx := c.Request().Context()
	return pgx.BeginTxFunc(ctx, a.read, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			var seq int64
			if err := tx.QueryRow(ctx, "SELECT last_seq FROM "+a.t("checkpoint")).Scan(&seq); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, "SELECT card_no, reason, since FROM "+a.t("blacklist")+" ORDER BY card_no")
			if err != nil {
				return err
			}
			defer rows.Close()
			res := c.Response()
			res.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
			res.WriteHeader(http.StatusOK)
			if _, err := res.Write([]byte(`{"seq":` + strconv.FormatInt(seq, 10) + `,"entries":[`)); err != nil {
				return err
			}
			enc := json.NewEncoder(res)
			first := true
			for rows.Next() {
				var e SnapshotEntry
				if err := rows.Scan(&e.CardNo, &e.Reason, &e.Since); err != nil {
					return err
				}
				if !first {
					if _, err := res.Write([]byte{','}); err != nil {
						return err
					}
				}
				first = false
				if err := enc.Encode(e); err != nil {
					return err
				}
			}
			if err := rows.Err(); err != nil {
				// The status is sent; a truncated body is what the client sees.
				return err
			}
			_, err = res.Write([]byte("]}\n"))
			return err
		})
}

func queryInt(c echo.Context, name string, def, lo, hi int64) (int64, error) {
	s := c.QueryParam(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, httpapi.BadRequest(CodeInvalidQuery, name+" must be an integer between "+
			strconv.FormatInt(lo, 10)+" and "+strconv.FormatInt(hi, 10),
			httpapi.FieldError{Field: name, Code: CodeInvalidQuery, Message: "out of range or not an integer"})
	}
	return n, nil
}
