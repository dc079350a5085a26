package batch

import (
	"github.com/prometheus/client_golang/prometheus"
)

// WorkerMetrics count what the job worker applies.
type WorkerMetrics struct {
	jobs   *prometheus.CounterVec // jobs finished, by kind
	items  *prometheus.CounterVec // items applied, by kind and outcome (JobStatus.Counts)
	failed prometheus.Counter     // runs that stopped with an error (tried again at the next poll)
}

// NewWorkerMetrics registers the batch job series in reg.
func NewWorkerMetrics(reg prometheus.Registerer) (*WorkerMetrics, error) {
	m := &WorkerMetrics{
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardledger_batch_jobs_total", Help: "Batch jobs the worker applied to the end, by kind.",
		}, []string{"kind"}),
		items: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardledger_batch_job_items_total",
			Help: "Items of the jobs applied, by kind and outcome (the stage reached, handed_over, or failed).",
		}, []string{"kind", "outcome"}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cardledger_batch_job_errors_total",
			Help: "Worker passes in which a job stopped with an error; it is tried again at the next poll.",
		}),
	}
	for _, c := range []prometheus.Collector{m.jobs, m.items, m.failed} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// observe counts one worker pass; nil WorkerMetrics count nothing.
func (m *WorkerMetrics) observe(jobs []JobStatus, err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.failed.Inc()
	}
	for _, j := range jobs {
		m.jobs.WithLabelValues(string(j.Kind)).Inc()
		for outcome, n := range j.Counts {
			m.items.WithLabelValues(string(j.Kind), outcome).Add(float64(n))
		}
	}
}
