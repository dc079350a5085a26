package readapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/unavailable"
	"github.com/cardledger/cardledger/projections"
	"github.com/cardledger/cardledger/projections/readmodel"
)

// DependencyReplica names the read replica in /readyz and in a 503
// dependency_unavailable problem.
const DependencyReplica = "postgresql_replica"

// ReplicaReadyLag is the replica lag above which /readyz reports not ready:
// reads without min_position would be older than the projections' own
// bound (projections.Options.ReadyLag) allows.
const ReplicaReadyLag = 30 * time.Second

// How often a min_position read asks the replica for its checkpoint: it
// replays the primary's commit within milliseconds, so the first polls are
// quick, then they back off.
const (
	replicaPollMin = 2 * time.Millisecond
	replicaPollMax = 50 * time.Millisecond
)

// WithReplica serves every read-API query from replica, a streaming
// replica of the primary's read-model database. Reads without min_position
// see what the replica has replayed; a read with min_position waits until
// the replica's own copy of the checkpoint has reached it (not the
// primary's), within the same bound, else 503 projection_behind. /readyz
// checks the replica and its lag; /metrics gains ReplicaCollector's series
// when it serves NewAPI's own registry (otherwise register it there).
func (a *API) WithReplica(replica *pgxpool.Pool) *API {
	a.read = replica
	a.replica = readmodel.New(replica) // only its Checkpoint is used: it reads
	if a.ownReg != nil {
		a.ownReg.MustRegister(ReplicaCollector(a.pool, replica))
	}
	return a
}

// waitReplica waits until the replica has applied pos, or ctx ends (then
// an error wrapping projections.ErrNotCaughtUp).
func (a *API) waitReplica(ctx context.Context, pos eventstore.Position) error {
	delay := replicaPollMin
	for {
		cp, err := a.replica.Checkpoint(ctx)
		switch _, down := unavailable.Classify(err); {
		case err == nil && !cp.Less(pos):
			return nil
		case down && ctx.Err() == nil:
			return unavailable.Wrap(DependencyReplica, err)
		case err == nil:
			err = fmt.Errorf("the replica is at %s", cp)
		}
		// Any other error (the replica has not replayed the read model's
		// tables yet) is being behind too.
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s, wanted %s: %w", projections.ErrNotCaughtUp, readmodel.Name, pos, err)
		case <-time.After(delay):
		}
		delay = min(2*delay, replicaPollMax)
	}
}

// onReplica names the replica in the outage a handler's query met, so the
// 503 says which database is down. An outage already named (the primary's,
// met by the min_position wait) keeps its name.
func (a *API) onReplica(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := h(c)
		var named *unavailable.Error
		if errors.As(err, &named) {
			return err
		}
		if u, ok := unavailable.Classify(err); ok && (u.Dependency == "" || u.Dependency == unavailable.PostgreSQL) {
			return unavailable.Wrap(DependencyReplica, err)
		}
		return err
	}
}

// replicaDependency is the replica's /readyz check: it answers, and it is
// within ReplicaReadyLag of the primary.
func (a *API) replicaDependency() Dependency {
	return Dependency{Name: DependencyReplica, Check: func(ctx context.Context) error {
		lag, err := replicaLag(ctx, a.read)
		if err != nil {
			return err
		}
		if lag > ReplicaReadyLag {
			return fmt.Errorf("the replica is %s behind (bound %s)", lag.Round(time.Second), ReplicaReadyLag)
		}
		return nil
	}}
}

// replicaLagSQL is how far the replica's replay is behind: 0 when it has
// replayed all it received, else the age of the last transaction it
// replayed (the primary committed the next one after it). A server that is
// not a standby is not behind anything.
const replicaLagSQL = `SELECT CASE WHEN NOT pg_is_in_recovery()
	OR pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
	ELSE coalesce(greatest(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0), 0) END::float8`

func replicaLag(ctx context.Context, replica *pgxpool.Pool) (time.Duration, error) {
	var secs float64
	if err := replica.QueryRow(ctx, replicaLagSQL).Scan(&secs); err != nil {
		return 0, fmt.Errorf("replica lag: %w", err)
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// replicaScrapeTimeout bounds the collector's queries, so a replica that
// does not answer costs the scrape 2 s and shows as up 0.
const replicaScrapeTimeout = 2 * time.Second

var (
	descReplicaUp = prometheus.NewDesc("cardledger_postgres_replica_up",
		"1 when the read replica answers the lag query, else 0.", nil, nil)
	descReplicaLagSeconds = prometheus.NewDesc("cardledger_postgres_replica_lag_seconds",
		"How far the read replica's replay is behind: 0 when it has replayed all WAL it received, "+
			"else the age of the last transaction it replayed (pg_last_xact_replay_timestamp).", nil, nil)
	descReplicaLagBytes = prometheus.NewDesc("cardledger_postgres_replica_lag_bytes",
		"WAL bytes the primary has written that the read replica has not replayed "+
			"(pg_wal_lsn_diff of the primary's WAL insert LSN and the replica's replay LSN).", nil, nil)
)

// ReplicaCollector reports the read replica's lag, asking both servers at
// each scrape. A replica that does not answer is up 0 without lag series,
// rather than failing the whole scrape: reads then fail on their own, and
// /readyz says why.
func ReplicaCollector(primary, replica *pgxpool.Pool) prometheus.Collector {
	return &replicaCollector{primary: primary, replica: replica}
}

type replicaCollector struct{ primary, replica *pgxpool.Pool }

func (c *replicaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descReplicaUp
	ch <- descReplicaLagSeconds
	ch <- descReplicaLagBytes
}

func (c *replicaCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), replicaScrapeTimeout)
	defer cancel()
	lag, err := replicaLag(ctx, c.replica)
	var replay *string // the replica's replay LSN; NULL on a server that is not a standby
	if err == nil {
		err = c.replica.QueryRow(ctx, "SELECT pg_last_wal_replay_lsn()::text").Scan(&replay)
	}
	if err != nil {
		ch <- prometheus.MustNewConstMetric(descReplicaUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descReplicaUp, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(descReplicaLagSeconds, prometheus.GaugeValue, lag.Seconds())
	if replay == nil {
		return
	}
	// Read after the replica's LSN, so the distance errs on the large side.
	var bytes float64
	err = c.primary.QueryRow(ctx, "SELECT greatest(pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn), 0)::float8", *replay).Scan(&bytes)
	if err == nil {
		ch <- prometheus.MustNewConstMetric(descReplicaLagBytes, prometheus.GaugeValue, bytes)
	}
}
