package piistore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

var erasedJSON = func() json.RawMessage {
	b, _ := json.Marshal(domain.ErasedMarker)
	return b
}()

// envelopeKey is what an event that holds an envelope contains, as stored.
var envelopeKey = []byte(`"` + envelopeField + `":`)

// Store is an eventstore.Store that seals personal fields on Append and
// opens them on every read. See the package doc.
type Store struct {
	inner eventstore.Store
	keys  *Keyring
}

var (
	_ eventstore.Store          = (*Store)(nil)
	_ eventstore.MultiAppender  = (*Store)(nil)
	_ eventstore.RowAppender    = (*Store)(nil)
	_ eventstore.UniqueEventIDs = (*Store)(nil)
	_ eventstore.RetryReporter  = (*Store)(nil)
)

// New wraps inner. Closing the Store closes inner; the keyring's pool is
// the caller's.
func New(inner eventstore.Store, keys *Keyring) *Store {
	return &Store{inner: inner, keys: keys}
}

// Inner is the wrapped store: events as stored, sealed. Chain verification
// reads it, since the chain hashes the stored bytes.
func (s *Store) Inner() eventstore.Store { return s.inner }

// UniqueEventIDs is the inner store's answer: sealing keeps event ids.
func (s *Store) UniqueEventIDs() bool {
	u, ok := s.inner.(eventstore.UniqueEventIDs)
	return ok && u.UniqueEventIDs()
}

// ReportsRetry is the inner store's answer: sealing keeps event ids, and
// the inner store's AppendResult (its Retried) is returned as it is.
func (s *Store) ReportsRetry(expected eventstore.ExpectedRevision) bool {
	return eventstore.ReportsRetry(s.inner, expected)
}

// Append seals the personal fields of events, then appends them. A
// CardholderErased event deletes the holder's data keys first: if the
// append then fails the data is erased all the same, and the retried
// command finds nothing erased yet in the stream and records the erasure.
//
// Sealing makes events larger; the inner store holds the sealed events to
// eventstore.MaxAppendSize and its *eventstore.AppendTooLargeError (with
// the sealed size) is returned as it is.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) (eventstore.AppendResult, error) {
	if err := s.eraseFor(ctx, stream, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	sealed, err := s.seal(ctx, stream, events)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: seal personal data: %w", stream, err)
	}
	return s.inner.Append(ctx, stream, expected, sealed)
}

// AppendWithRow seals events as Append does, then appends them with row
// through the inner store's AppendWithRow; the row passes as it is (it is
// the caller's, not an event). An inner store without one gives
// eventstore.ErrRowAppendUnsupported before anything is done.
func (s *Store) AppendWithRow(ctx context.Context, stream string, expected eventstore.ExpectedRevision,
	events []eventstore.EventData, row eventstore.Row) (eventstore.AppendResult, bool, error) {
	inner, ok := s.inner.(eventstore.RowAppender)
	if !ok {
		return eventstore.AppendResult{}, false, eventstore.ErrRowAppendUnsupported
	}
	if err := s.eraseFor(ctx, stream, events); err != nil {
		return eventstore.AppendResult{}, false, err
	}
	sealed, err := s.seal(ctx, stream, events)
	if err != nil {
		return eventstore.AppendResult{}, false, fmt.Errorf("append %s: seal personal data: %w", stream, err)
	}
	return inner.AppendWithRow(ctx, stream, expected, sealed, row)
}

// eraseFor deletes the data keys of the holder of stream if events erase them.
func (s *Store) eraseFor(ctx context.Context, stream string, events []eventstore.EventData) error {
	for _, e := range events {
		if holder, ok := domain.CardholderIDOfStream(stream); ok && e.Type == (domain.CardholderErased{}).EventType() {
			if err := s.keys.Erase(ctx, holder); err != nil {
				return fmt.Errorf("append %s: %w", stream, err)
			}
		}
	}
	return nil
}

// AppendMany seals the events of every stream, creating the missing data
// keys of all their people in one insert, then appends them all through
// the inner store's AppendMany. An inner store without one gives
// eventstore.ErrAppendManyUnsupported before anything is done. Keys
// created for an AppendMany that then fails stay, unused, as they do
// after a failed Append: the retry or the next append uses them.
func (s *Store) AppendMany(ctx context.Context, appends []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	inner, ok := s.inner.(eventstore.MultiAppender)
	if !ok {
		return nil, eventstore.ErrAppendManyUnsupported
	}
	for _, a := range appends {
		if err := s.eraseFor(ctx, a.Stream, a.Events); err != nil {
			return nil, err
		}
	}
	sealings := make([]*sealing, len(appends))
	var subjects []string
	for i, a := range appends {
		sl, err := prepareSeal(a.Stream, a.Events)
		if err != nil {
			return nil, fmt.Errorf("append %s: seal personal data: %w", a.Stream, err)
		}
		sealings[i] = sl
		subjects = append(subjects, sl.subjects...)
	}
	var keys map[string]writeKey
	if len(subjects) > 0 {
		var err error
		if keys, err = s.keys.currentKeys(ctx, subjects); err != nil {
			return nil, fmt.Errorf("append many: seal personal data: %w", err)
		}
	}
	sealed := make([]eventstore.StreamAppend, len(appends))
	for i, a := range appends {
		events, err := sealings[i].finish(keys)
		if err != nil {
			return nil, fmt.Errorf("append %s: seal personal data: %w", a.Stream, err)
		}
		sealed[i] = eventstore.StreamAppend{Stream: a.Stream, Expected: a.Expected, Events: events}
	}
	return inner.AppendMany(ctx, sealed)
}

// part is one object of an event whose personal fields are sealed together.
type part struct {
	obj     map[string]json.RawMessage
	fields  []string
	subject string
	path    string
	env     *envelope // on reading
}

// doc is an event's data split into the objects that hold personal data.
type doc struct {
	top      map[string]json.RawMessage
	elements []map[string]json.RawMessage // of the rule's array
	parts    []part
}

func (d *doc) marshal(r rule) ([]byte, error) {
	if r.array != "" && d.elements != nil {
		arr, err := json.Marshal(d.elements)
		if err != nil {
			return nil, err
		}
		d.top[r.array] = arr
	}
	return json.Marshal(d.top)
}

func (s *Store) seal(ctx context.Context, stream string, events []eventstore.EventData) ([]eventstore.EventData, error) {
	sl, err := prepareSeal(stream, events)
	if err != nil {
		return nil, err
	}
	if len(sl.subjects) == 0 {
		return events, nil
	}
	keys, err := s.keys.currentKeys(ctx, sl.subjects)
	if err != nil {
		return nil, err
	}
	return sl.finish(keys)
}

// sealing is one stream's events parsed for sealing, waiting for the data
// keys of its subjects; split from seal so AppendMany can fetch (and
// create) the keys of many streams at once.
type sealing struct {
	events   []eventstore.EventData
	docs     []*doc
	subjects []string
}

func prepareSeal(stream string, events []eventstore.EventData) (*sealing, error) {
	sl := &sealing{events: events, docs: make([]*doc, len(events))}
	for i, e := range events {
		r, ok := rules[e.Type]
		if !ok {
			continue
		}
		d := &doc{}
		if err := json.Unmarshal(e.Data, &d.top); err != nil {
			return nil, fmt.Errorf("%s is not a JSON object: %w", e.Type, err)
		}
		if r.array == "" {
			if f := personalFields(d.top, r.fields); len(f) > 0 {
				d.parts = append(d.parts, part{obj: d.top, fields: f, subject: streamSubject(stream)})
			}
		} else if raw, ok := d.top[r.array]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			if err := json.Unmarshal(raw, &d.elements); err != nil {
				return nil, fmt.Errorf("%s.%s is not an array of objects: %w", e.Type, r.array, err)
			}
			for j, el := range d.elements {
				f := personalFields(el, r.fields)
				if len(f) == 0 {
					continue
				}
				sub := elementSubject(el, r.subjectField)
				if sub == "" {
					sub = streamSubject(stream)
				}
				d.parts = append(d.parts, part{obj: el, fields: f, subject: sub, path: fmt.Sprintf("%s/%d", r.array, j)})
			}
		}
		if len(d.parts) == 0 {
			continue
		}
		sl.docs[i] = d
		for _, p := range d.parts {
			sl.subjects = append(sl.subjects, p.subject)
		}
	}
	return sl, nil
}

// finish seals every part under keys, which must hold all of sl.subjects.
func (sl *sealing) finish(keys map[string]writeKey) ([]eventstore.EventData, error) {
	if len(sl.subjects) == 0 {
		return sl.events, nil
	}
	out := make([]eventstore.EventData, len(sl.events))
	copy(out, sl.events)
	for i, d := range sl.docs {
		if d == nil {
			continue
		}
		if out[i].ID == uuid.Nil {
			// The ciphertext is bound to the event id, so fix it here
			// rather than let the adapter pick one.
			out[i].ID = uuid.New()
		}
		for _, p := range d.parts {
			if err := sealObject(p.obj, p.fields, p.subject, keys[p.subject], out[i].ID, out[i].Type, p.path); err != nil {
				return nil, err
			}
		}
		var err error
		if out[i].Data, err = d.marshal(rules[out[i].Type]); err != nil {
			return nil, fmt.Errorf("encode sealed %s: %w", out[i].Type, err)
		}
	}
	return out, nil
}

// open replaces the envelopes of events by the fields they hold (or by
// ErasedMarker), in place. An event it cannot open fails the whole read
// with an error naming the event: a projection must not skip it silently.
func (s *Store) open(ctx context.Context, events []eventstore.RecordedEvent) error {
	for _, e := range events {
		if e.Type == (domain.CardholderErased{}).EventType() {
			if holder, ok := domain.CardholderIDOfStream(e.Stream); ok {
				s.keys.cache.forget(holder)
			}
		}
	}
	docs := make([]*doc, len(events))
	var subjects []string
	for i, e := range events {
		if !bytes.Contains(e.Data, envelopeKey) {
			continue
		}
		if data, ok := s.keys.opened.get(openedKeyOf(e), s.keys.cache); ok {
			events[i].Data = data
			continue
		}
		d, err := parseSealed(e)
		if err != nil {
			return fmt.Errorf("open %s@%d: %w", e.Stream, e.Revision, err)
		}
		if d == nil {
			continue
		}
		docs[i] = d
		for _, p := range d.parts {
			subjects = append(subjects, p.env.Subject)
		}
	}
	if len(subjects) == 0 {
		return nil
	}
	keys, err := s.keys.keysOf(ctx, subjects)
	if err != nil {
		return fmt.Errorf("open personal data: %w", err)
	}
	lookup := func(subject string, gen int) ([]byte, bool) {
		sk := keys[subject]
		if sk == nil {
			return nil, false
		}
		return sk.keys[gen], sk.erased[gen]
	}
	for i, d := range docs {
		if d == nil {
			continue
		}
		key := openedKeyOf(events[i])
		if err := openDoc(&events[i], d, lookup); err != nil {
			return err
		}
		var with []*subjectKeys
		for _, p := range d.parts {
			if sk := keys[p.env.Subject]; !slices.Contains(with, sk) {
				with = append(with, sk)
			}
		}
		s.keys.opened.put(key, events[i].Data, with)
	}
	return nil
}

func openedKeyOf(e eventstore.RecordedEvent) openedKey {
	return openedKey{id: e.ID, typ: e.Type, data: string(e.Data)}
}

// openDoc opens every part of e's data with the keys lookup gives (key nil
// and erased false: no such key) and replaces e.Data.
func openDoc(e *eventstore.RecordedEvent, d *doc, lookup func(subject string, gen int) (key []byte, erased bool)) error {
	for _, p := range d.parts {
		key, erased := lookup(p.env.Subject, p.env.Gen)
		if key == nil && !erased {
			return fmt.Errorf("open %s@%d: %w: %s generation %d", e.Stream, e.Revision, ErrNoDataKey, p.env.Subject, p.env.Gen)
		}
		if err := openObject(p.obj, p.env, key, erased, e.ID, e.Type, p.path); err != nil {
			return fmt.Errorf("open %s@%d: %w", e.Stream, e.Revision, err)
		}
	}
	data, err := d.marshal(rules[e.Type])
	if err != nil {
		return fmt.Errorf("open %s@%d: %w", e.Stream, e.Revision, err)
	}
	e.Data = data
	return nil
}

// parseSealed finds the envelopes of a stored event; nil when it has none.
// Events of types without personal data are opened only if they really
// hold an envelope at the top: a free-text field that merely mentions
// "pii" stays as it is.
func parseSealed(e eventstore.RecordedEvent) (*doc, error) {
	r, known := rules[e.Type]
	d := &doc{}
	if err := json.Unmarshal(e.Data, &d.top); err != nil {
		if known {
			return nil, fmt.Errorf("%w: data is not a JSON object", ErrCorrupt)
		}
		return nil, nil
	}
	if env, ok, err := parseEnvelope(d.top); err != nil {
		return nil, err
	} else if ok {
		d.parts = append(d.parts, part{obj: d.top, env: env})
	}
	if known && r.array != "" {
		if raw, ok := d.top[r.array]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			if err := json.Unmarshal(raw, &d.elements); err != nil {
				return nil, fmt.Errorf("%w: %s is not an array of objects", ErrCorrupt, r.array)
			}
			for j, el := range d.elements {
				env, ok, err := parseEnvelope(el)
				if err != nil {
					return nil, fmt.Errorf("%s/%d: %w", r.array, j, err)
				}
				if ok {
					d.parts = append(d.parts, part{obj: el, env: env, path: fmt.Sprintf("%s/%d", r.array, j)})
				}
			}
		}
	}
	if len(d.parts) == 0 {
		return nil, nil
	}
	return d, nil
}

// ReadStream reads through to the wrapped store and opens what it returns.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
	events, err := s.inner.ReadStream(ctx, stream, from, limit)
	if err != nil {
		return nil, err
	}
	if err := s.open(ctx, events); err != nil {
		return nil, fmt.Errorf("read %s: %w", stream, err)
	}
	return events, nil
}

// ReadAll reads through to the wrapped store and opens the page, loading
// the data keys of its people in one query.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	events, err := s.inner.ReadAll(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	if err := s.open(ctx, events); err != nil {
		return nil, fmt.Errorf("read $all after %s: %w", after, err)
	}
	return events, nil
}

// SubscribeAll opens each event before handle sees it.
func (s *Store) SubscribeAll(ctx context.Context, after eventstore.Position, handle func(eventstore.RecordedEvent) error) error {
	return s.inner.SubscribeAll(ctx, after, func(e eventstore.RecordedEvent) error {
		one := []eventstore.RecordedEvent{e}
		if err := s.open(ctx, one); err != nil {
			return fmt.Errorf("subscribe $all: %w", err)
		}
		return handle(one[0])
	})
}

func (s *Store) Head(ctx context.Context) (eventstore.Head, bool, error) { return s.inner.Head(ctx) }

func (s *Store) Close() error { return s.inner.Close() }
