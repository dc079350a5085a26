package analytics

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cardledger/cardledger/projections"
)

// A rebuild (projections.Runner.Rebuild) fills a copy of every table the
// projection writes, named with rebuildSuffix, from position zero through
// the same Apply, then renames the copies over the live tables. The runner
// holds the projection's single-active lock throughout (ExclusiveRebuild):
// ClickHouse has no transaction that could stop the live Apply at the
// switch. Queries keep reading the live tables until the rename.
//
// The switch is one multi-table RENAME TABLE, which runs on 18.16 (Ordinary
// databases) and on current servers alike; EXCHANGE TABLES would be atomic
// but needs an Atomic database (20.x and later). The RENAME is done under
// the server's global lock, so no query sees half of it, but on 18.16 it is
// not all-or-nothing: the renames before a failing one stay done. Swap
// therefore clears every name it renames to beforehand, and after a failure
// puts back whatever was renamed (undoSwap).
const (
	rebuildSuffix = "_rebuild"
	// replacedSuffix names the live tables between the switch and their drop.
	replacedSuffix = "_replaced"
)

// projectionTables are all the tables the projection writes, checkpoint
// included, so data and checkpoint are swapped together.
var projectionTables = []string{"usage_facts", "card_events", "holders", "cards", "projection_checkpoints"}

var _ projections.ExclusiveRebuild = (*Projection)(nil)

// RebuildsUnderLock implements projections.ExclusiveRebuild.
func (p *Projection) RebuildsUnderLock() {}

// Shadow implements projections.Rebuildable: empty copies of the live
// tables (CREATE TABLE … AS copies columns, engine, partitioning and sort
// key, i.e. the migrations' DDL), left-over copies dropped, and a
// Projection writing into them.
func (p *Projection) Shadow(ctx context.Context) (projections.Projection, error) {
	if p.suffix != "" {
		return nil, fmt.Errorf("shadow of %s tables: only the live projection has one", p.suffix)
	}
	if p.opts.cluster != "" {
		return p.shadowOnCluster(ctx) // see cluster.go
	}
	for _, t := range projectionTables {
		if err := p.conn.Exec(ctx, "DROP TABLE IF EXISTS "+t+rebuildSuffix); err != nil {
			return nil, fmt.Errorf("drop left-over %s%s: %w", t, rebuildSuffix, err)
		}
		if err := p.conn.Exec(ctx, "CREATE TABLE "+t+rebuildSuffix+" AS "+t); err != nil {
			return nil, fmt.Errorf("create %s%s: %w", t, rebuildSuffix, err)
		}
	}
	return &Projection{conn: p.conn, suffix: rebuildSuffix}, nil
}

// DropShadow implements projections.ShadowDropper: a failed or crashed
// rebuild's copies go (they hold the same personal data as the live
// tables).
func (p *Projection) DropShadow(ctx context.Context) error {
	if p.suffix != "" {
		return fmt.Errorf("drop shadow of %s tables: only the live projection has one", p.suffix)
	}
	if p.opts.cluster != "" {
		return p.dropShadowOnCluster(ctx)
	}
	for _, t := range projectionTables {
		if err := p.conn.Exec(ctx, "DROP TABLE IF EXISTS "+t+rebuildSuffix); err != nil {
			return fmt.Errorf("drop %s%s: %w", t, rebuildSuffix, err)
		}
	}
	return nil
}

// Swap implements projections.Rebuildable: it brings the copies up to the
// live checkpoint (under the runner's lock the live projection does not
// move, so this is for a checkpoint stored before the lock was taken),
// renames them over the live tables and drops the replaced ones. The live
// instance to take the lock next recovers from the new tables.
func (p *Projection) Swap(ctx context.Context, shadow projections.Projection, readAll projections.ReadAllFunc) error {
	sh, ok := shadow.(*Projection)
	if !ok || sh.suffix != rebuildSuffix || p.suffix != "" {
		return errors.New("swap: not a shadow of the live analytics projection")
	}
	live, err := p.Checkpoint(ctx)
	if err != nil {
		return err
	}
	at, err := sh.Checkpoint(ctx)
	if err != nil {
		return err
	}
	for at.Less(live) {
		events, err := readAll(ctx, at, RunnerOptions().PageSize)
		if err != nil {
			return fmt.Errorf("top up rebuilt tables after %s: %w", at, err)
		}
		if len(events) == 0 {
			return fmt.Errorf("top up rebuilt tables: store ends at %s before live checkpoint %s", at, live)
		}
		if err := sh.Apply(ctx, events); err != nil {
			return fmt.Errorf("top up rebuilt tables: %w", err)
		}
		at = events[len(events)-1].Position
	}
	if p.opts.cluster != "" {
		return p.swapOnCluster(ctx)
	}
	for _, t := range projectionTables {
		if err := p.conn.Exec(ctx, "DROP TABLE IF EXISTS "+t+replacedSuffix); err != nil {
			return fmt.Errorf("drop left-over %s%s: %w", t, replacedSuffix, err)
		}
	}
	renames := make([]string, 0, 2*len(projectionTables))
	for _, t := range projectionTables {
		renames = append(renames, t+" TO "+t+replacedSuffix, t+rebuildSuffix+" TO "+t)
	}
	if err := p.conn.Exec(ctx, "RENAME TABLE "+strings.Join(renames, ", ")); err != nil {
		if uerr := p.undoSwap(context.WithoutCancel(ctx)); uerr != nil {
			return fmt.Errorf("swap tables: %w; putting the live tables back failed too: %w", err, uerr)
		}
		return fmt.Errorf("swap tables (live tables kept): %w", err)
	}
	// The in-memory state describes the replaced tables: reload before the
	// next Apply.
	p.mu.Lock()
	p.loaded = false
	p.mu.Unlock()
	for _, t := range projectionTables {
		if err := p.conn.Exec(ctx, "DROP TABLE IF EXISTS "+t+replacedSuffix); err != nil {
			return fmt.Errorf("rebuilt tables swapped in, but dropping the replaced %s%s failed: %w", t, replacedSuffix, err)
		}
	}
	return nil
}

// undoSwap puts the live tables back after a RENAME that failed part-way:
// each table renamed away is renamed back, and the copy that took its name
// returns to its rebuild name.
func (p *Projection) undoSwap(ctx context.Context) error {
	rows, err := p.conn.Query(ctx, "SELECT name FROM system.tables WHERE database = currentDatabase()")
	if err != nil {
		return fmt.Errorf("list tables: %w", err)
	}
	exists := make(map[string]bool)
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return fmt.Errorf("list tables: %w", err)
		}
		exists[name] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list tables: %w", err)
	}
	for _, t := range projectionTables {
		var stmt string
		switch {
		case !exists[t]: // renamed away, its copy not renamed in
			stmt = "RENAME TABLE " + t + replacedSuffix + " TO " + t
		case !exists[t+rebuildSuffix] && exists[t+replacedSuffix]: // both renames done
			stmt = "RENAME TABLE " + t + " TO " + t + rebuildSuffix + ", " + t + replacedSuffix + " TO " + t
		default: // not reached by the RENAME
			continue
		}
		if err := p.conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("put %s back: %w", t, err)
		}
	}
	return nil
}
