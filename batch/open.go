package batch

import "context"

// Open is New followed by the read model's migration and the import jobs'
// table; the command line and the server use it.
func Open(ctx context.Context, d Deps) (*Service, error) {
	s, err := New(d)
	if err != nil {
		return nil, err
	}
	if err := s.readModel.Migrate(ctx); err != nil {
		return nil, err
	}
	if err := MigrateImportJobs(ctx, d.Pool); err != nil {
		return nil, err
	}
	return s, nil
}

// Batches lists every batch once the read model has caught up with what this
// Service wrote.
func (s *Service) Batches(ctx context.Context) ([]BatchSummary, error) {
	if err := s.catchUp(ctx); err != nil {
		return nil, err
	}
	return s.readModel.Batches(ctx)
}
