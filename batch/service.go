package batch

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/photos"
)

// Deps is what the batch layer needs from the process.
type Deps struct {
	Store    eventstore.Store
	Pool     *pgxpool.Pool     // read-model database (schema batchrm)
	Commands *commands.Service // cardholder repository and card numbers
	IDKey    []byte            // cardholder id key, as for commands.NewService
	Clock    func() time.Time
	Actor    domain.Actor // who the CLI or the process acts as
	// Photos gives the production file its members' photos; nil leaves
	// the photo column empty.
	Photos *photos.Store
	// Workers is how many cardholder streams are written in parallel by
	// imports and the process manager (default 32). Parallel appends share
	// commits (group commit), which is most of the speed of a bulk import;
	// the event store's connection pool must allow as many connections.
	Workers int
}

// Service runs the batch workflow.
type Service struct {
	store eventstore.Store
	writers
	pool      *pgxpool.Pool
	cmds      *commands.Service
	idKey     []byte
	clock     func() time.Time
	actor     domain.Actor
	workers   int
	photos    *photos.Store
	readModel *ReadModel
	// written is the newest position this Service appended at, so that read
	// model queries can wait for the service's own writes.
	written *mark
	// wake tells this process's job worker that a job was started.
	wake chan struct{}
	// imports counts the background imports this process runs.
	imports *sync.WaitGroup
	// afterItem, when set, is called after each job item is applied; tests
	// use it to crash the process manager mid-file.
	afterItem func(done int)
}

// New checks deps and returns a Service.
func New(d Deps) (*Service, error) {
	switch {
	case d.Store == nil:
		return nil, errors.New("batch: needs an event store")
	case d.Pool == nil:
		return nil, errors.New("batch: needs a PostgreSQL pool for its read model")
	case d.Commands == nil || d.Commands.Repository == nil || d.Commands.CardNumbers == nil:
		return nil, errors.New("batch: needs the commands service")
	case len(d.IDKey) < commands.MinIDKeyLen:
		return nil, errors.New("batch: needs the cardholder id key")
	case d.Clock == nil:
		return nil, errors.New("batch: needs a clock")
	}
	if d.Actor.Client == "" {
		d.Actor.Client = "cardledger-batch"
	}
	if d.Workers <= 0 {
		d.Workers = 32
	}
	w, err := newWriters(d)
	if err != nil {
		return nil, err
	}
	return &Service{store: d.Store, writers: w, pool: d.Pool, cmds: d.Commands, idKey: d.IDKey, clock: d.Clock,
		actor: d.Actor, workers: d.Workers, photos: d.Photos, readModel: NewReadModel(d.Pool), written: &mark{},
		wake: make(chan struct{}, 1), imports: &sync.WaitGroup{}}, nil
}

// mark is a monotonic position shared by the copies WithActor makes.
type mark struct {
	mu  sync.Mutex
	pos eventstore.Position
}

func (m *mark) advance(p eventstore.Position) {
	m.mu.Lock()
	if m.pos.Less(p) {
		m.pos = p
	}
	m.mu.Unlock()
}

func (m *mark) get() eventstore.Position {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pos
}

// catchUp brings the read model past everything this Service wrote.
func (s *Service) catchUp(ctx context.Context) error {
	return s.readModel.CatchUpTo(ctx, s.store, s.written.get())
}

// ReadModel returns the batch read model, for the projections runner.
func (s *Service) ReadModel() *ReadModel { return s.readModel }

// namespace of every id derived in this package (fixed: stored ids depend on it).
var namespace = uuid.MustParse("2a8f4c71-93d5-4e0b-b6a2-5c1e7d9f0a38")

// commandID derives a command id from the parts that name a command.
func commandID(parts ...string) uuid.UUID {
	b := []byte{}
	for _, p := range parts {
		b = append(b, p...)
		b = append(b, 0)
	}
	return uuid.NewSHA1(namespace, b)
}

func (s *Service) envelope(id uuid.UUID, correlation string) commands.Envelope {
	return commands.Envelope{CommandID: id, Actor: s.actor, Channel: "batch", CorrelationID: correlation}
}

// NewDeps builds Deps for a process that has an event store, the read-model
// pool and the cardholder id key (the CLI and the server): the commands
// service on the wall clock, acting as client "cardledger-batch".
func NewDeps(store eventstore.Store, pool *pgxpool.Pool, idKey []byte) (Deps, error) {
	cmds, err := commands.NewService(store, idKey, time.Now)
	if err != nil {
		return Deps{}, err
	}
	return Deps{Store: store, Pool: pool, Commands: cmds, IDKey: idKey, Clock: time.Now,
		Actor: domain.Actor{Client: "cardledger-batch"}}, nil
}
