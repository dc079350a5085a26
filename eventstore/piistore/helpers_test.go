package piistore_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/pgstore"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
	"github.com/cardledger/cardledger/eventstore/piistore"
	"github.com/cardledger/cardledger/internal/testpg"
)

// fixture is a sealed store over a private PostgreSQL database that holds
// both the events and the data keys.
type fixture struct {
	ctx    context.Context
	url    string
	raw    *pgstore.Store
	pool   *pgxpool.Pool
	keys   *piistore.Keyring
	store  *piistore.Store
	master piistore.MasterKey
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	url := testpg.NewDatabase(t)
	raw := pgstoretest.OpenURL(t, url)
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, piistore.Migrate(ctx, pool))
	master := mustKey(t, "a")
	f := &fixture{ctx: ctx, url: url, raw: raw, pool: pool, master: master}
	f.keys = f.keyring(t, master)
	f.store = piistore.New(raw, f.keys)
	return f
}

func (f *fixture) keyring(t *testing.T, current piistore.MasterKey, old ...piistore.MasterKey) *piistore.Keyring {
	t.Helper()
	k, err := piistore.NewKeyring(f.pool, current, old, piistore.KeyringOptions{})
	require.NoError(t, err)
	return k
}

// mustKey is a fixed test master key named by one letter.
func mustKey(t *testing.T, letter string) piistore.MasterKey {
	t.Helper()
	raw := make([]byte, piistore.MasterKeySize)
	for i := range raw {
		raw[i] = letter[0] + byte(i)
	}
	k, err := piistore.NewMasterKey(raw)
	require.NoError(t, err)
	return k
}

// person is one registered cardholder's personal data.
type person struct {
	id, idNumber, name, birth, phone, photo string
}

var (
	zhang = person{id: "0123456789abcdef0123456789abcdef", idNumber: "320505199003071336", name: "张三",
		birth: "1990-03-07", phone: "13800138000", photo: "photos/zhang.jpg"}
	li = person{id: "fedcba9876543210fedcba9876543210", idNumber: "11010519491231002X", name: "李四",
		birth: "1949-12-31", phone: "13900139000", photo: "photos/li.jpg"}
)

func (p person) stream() string { return domain.StreamFor(p.id) }

// secrets are the strings that must never be stored in clear.
func (p person) secrets() []string { return []string{p.idNumber, p.name, p.birth, p.phone, p.photo} }

func event(t *testing.T, e domain.Event) eventstore.EventData {
	t.Helper()
	typ, data, err := domain.EncodeEvent(e)
	if err != nil {
		typ, data, err = domain.EncodeBatchEvent(e)
	}
	require.NoError(t, err)
	return eventstore.EventData{ID: uuid.New(), Type: typ, Data: data, Metadata: []byte(`{}`)}
}

func (p person) registered(t *testing.T) eventstore.EventData {
	return event(t, domain.CardholderRegistered{CardholderID: p.id, IDNumber: p.idNumber, Name: p.name, Sex: domain.Male,
		BirthDate: p.birth, Nationality: "CHN", RegionCode: "320505", Phone: p.phone})
}

func (p person) applied(t *testing.T) eventstore.EventData {
	return event(t, domain.CardApplied{ApplicationID: "app-" + p.id[:4], Source: domain.SourceCounter,
		Kind: domain.FirstIssue, BankCode: "102", PhotoRef: p.photo})
}

func (p person) member() domain.BatchMember {
	return domain.BatchMember{CardholderID: p.id, ApplicationID: "app-" + p.id[:4], IDNumber: p.idNumber, Name: p.name,
		Sex: domain.Male, BirthDate: p.birth, Nationality: "CHN", RegionCode: "320505", Source: domain.SourceCounter,
		Kind: domain.FirstIssue, BankCode: "102", PhotoRef: p.photo}
}

func (f *fixture) append(t *testing.T, store eventstore.Store, stream string, events ...eventstore.EventData) {
	t.Helper()
	_, err := store.Append(f.ctx, stream, eventstore.Any(), events)
	require.NoError(t, err)
}

// register writes a person's registration and application.
func (f *fixture) register(t *testing.T, p person) {
	t.Helper()
	f.append(t, f.store, p.stream(), p.registered(t), p.applied(t))
}

// storedData is every event's data as PostgreSQL holds it.
func (f *fixture) storedData(t *testing.T) []string {
	t.Helper()
	rows, err := f.pool.Query(f.ctx, `SELECT convert_from(data, 'UTF8') FROM eventstore_events ORDER BY xid, seq`)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

// fields decodes event data into its top-level fields as strings.
func fields(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	return m
}
