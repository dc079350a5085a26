package esdbdouble

import (
	"regexp"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Read serves the four forms of Streams.Read: a bounded read of a stream or
// of $all (forwards or backwards), and a subscription to either.
//
// Bounded reads answer only with events and, for a missing stream,
// stream_not_found: the v4 client panics on any other reply to a read.
func (s *streams) Read(req *api.ReadReq, srv api.Streams_ReadServer) error {
	o := req.GetOptions()
	if o == nil {
		return status.Error(codes.InvalidArgument, "read without options")
	}
	asString := o.GetUuidOption().GetString_() != nil
	filter, err := newEventFilter(o.GetFilter())
	if err != nil {
		return err
	}
	if o.GetSubscription() != nil {
		if o.GetReadDirection() != api.ReadReq_Options_Forwards {
			return status.Error(codes.InvalidArgument, "subscriptions read forwards only")
		}
		return s.subscribe(o, filter, asString, srv)
	}
	count := o.GetCount()
	backwards := o.GetReadDirection() == api.ReadReq_Options_Backwards
	if all := o.GetAll(); all != nil {
		recs, _ := s.log.snapshot()
		for _, r := range selectAll(recs, all, backwards, count, filter) {
			if err := srv.Send(readEvent(r, asString, true)); err != nil {
				return err
			}
		}
		return nil
	}
	so := o.GetStream()
	name := string(so.GetStreamIdentifier().GetStreamName())
	view := s.log.stream(name)
	switch {
	case view.tombstoned:
		return streamDeleted(srv.Context(), name)
	case !view.found:
		return srv.Send(&api.ReadResp{Content: &api.ReadResp_StreamNotFound_{StreamNotFound: &api.ReadResp_StreamNotFound{
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(name)},
		}}})
	}
	for _, r := range selectStream(view.records, so, backwards, count) {
		if err := srv.Send(readEvent(r, asString, false)); err != nil {
			return err
		}
	}
	return nil
}

// selectAll picks $all records for a bounded read. Forwards from a position
// includes the event at that position; backwards from it excludes it, which
// is how EventStoreDB pages through $all.
func selectAll(recs []*record, o *api.ReadReq_Options_AllOptions, backwards bool, count uint64, f eventFilter) []*record {
	var out []*record
	take := func(r *record) bool {
		if f.match(r) {
			out = append(out, r)
		}
		return uint64(len(out)) < count
	}
	if !backwards {
		from := 0
		switch v := o.GetAllOption().(type) {
		case *api.ReadReq_Options_AllOptions_End:
			from = len(recs)
		case *api.ReadReq_Options_AllOptions_Position:
			from = firstAtOrAfter(recs, v.Position.GetCommitPosition())
		}
		for _, r := range recs[from:] {
			if !take(r) {
				break
			}
		}
		return out
	}
	to := len(recs)
	switch v := o.GetAllOption().(type) {
	case *api.ReadReq_Options_AllOptions_Start:
		to = 0
	case *api.ReadReq_Options_AllOptions_Position:
		to = firstAtOrAfter(recs, v.Position.GetCommitPosition())
	}
	for i := to - 1; i >= 0; i-- {
		if !take(recs[i]) {
			break
		}
	}
	return out
}

// selectStream picks a stream's records for a bounded read; the revision a
// read starts from is included in both directions.
func selectStream(recs []*record, o *api.ReadReq_Options_StreamOptions, backwards bool, count uint64) []*record {
	var out []*record
	if !backwards {
		from := 0
		switch v := o.GetRevisionOption().(type) {
		case *api.ReadReq_Options_StreamOptions_End:
			from = len(recs)
		case *api.ReadReq_Options_StreamOptions_Revision:
			from = firstRevisionAtOrAfter(recs, v.Revision)
		}
		for _, r := range recs[from:] {
			if uint64(len(out)) >= count {
				break
			}
			out = append(out, r)
		}
		return out
	}
	to := len(recs)
	switch v := o.GetRevisionOption().(type) {
	case *api.ReadReq_Options_StreamOptions_Start:
		to = min(1, len(recs))
	case *api.ReadReq_Options_StreamOptions_Revision:
		to = firstRevisionAtOrAfter(recs, v.Revision+1)
	}
	for i := to - 1; i >= 0 && uint64(len(out)) < count; i-- {
		out = append(out, recs[i])
	}
	return out
}

func firstAtOrAfter(recs []*record, pos uint64) int {
	lo, hi := 0, len(recs)
	for lo < hi {
		m := (lo + hi) / 2
		if recs[m].position < pos {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

func firstRevisionAtOrAfter(recs []*record, rev uint64) int {
	for i, r := range recs {
		if r.revision >= rev {
			return i
		}
	}
	return len(recs)
}

// subscribe sends the confirmation, then every matching event after the
// start point (exclusive), "caught up" once the log is exhausted, and new
// events as they are written, until the client goes away. The log index is
// the only cursor, so no event is sent twice or skipped at the switch from
// catch-up to live.
func (s *streams) subscribe(o *api.ReadReq_Options, f eventFilter, asString bool, srv api.Streams_ReadServer) error {
	dropped, release := s.track()
	defer release()
	if err := srv.Send(&api.ReadResp{Content: &api.ReadResp_Confirmation{Confirmation: &api.ReadResp_SubscriptionConfirmation{
		SubscriptionId: uuid.NewString(),
	}}}); err != nil {
		return err
	}
	recs, _ := s.log.snapshot()
	var next int
	var match func(*record) bool
	if all := o.GetAll(); all != nil {
		match = f.match
		switch v := all.GetAllOption().(type) {
		case *api.ReadReq_Options_AllOptions_End:
			next = len(recs)
		case *api.ReadReq_Options_AllOptions_Position:
			next = firstAtOrAfter(recs, v.Position.GetCommitPosition()+1)
		}
	} else {
		so := o.GetStream()
		name := string(so.GetStreamIdentifier().GetStreamName())
		var after uint64
		var fromRev bool
		switch v := so.GetRevisionOption().(type) {
		case *api.ReadReq_Options_StreamOptions_End:
			next = len(recs)
		case *api.ReadReq_Options_StreamOptions_Revision:
			after, fromRev = v.Revision, true
		}
		match = func(r *record) bool {
			return r.stream == name && (!fromRev || r.revision > after)
		}
	}
	caughtUp := false
	for {
		recs, changed := s.log.snapshot()
		for ; next < len(recs); next++ {
			if r := recs[next]; match(r) {
				if err := srv.Send(readEvent(r, asString, true)); err != nil {
					return err
				}
			}
		}
		if f.active && len(recs) > 0 {
			last := recs[len(recs)-1].position
			if err := srv.Send(&api.ReadResp{Content: &api.ReadResp_Checkpoint_{Checkpoint: &api.ReadResp_Checkpoint{
				CommitPosition: last, PreparePosition: last,
			}}}); err != nil {
				return err
			}
		}
		if !caughtUp {
			caughtUp = true
			if err := srv.Send(&api.ReadResp{Content: &api.ReadResp_CaughtUp_{CaughtUp: &api.ReadResp_CaughtUp{}}}); err != nil {
				return err
			}
		}
		select {
		case <-changed:
		case <-srv.Context().Done():
			return srv.Context().Err()
		case <-dropped:
			return status.Error(codes.Unavailable, "subscription dropped by the server")
		}
	}
}

// eventFilter is the server-side filter of a $all read or subscription:
// prefixes or a regular expression over the event type or the stream name.
type eventFilter struct {
	active   bool
	onStream bool
	prefixes []string
	re       *regexp.Regexp
}

func newEventFilter(o *api.ReadReq_Options_FilterOptions) (eventFilter, error) {
	if o == nil {
		return eventFilter{}, nil
	}
	f := eventFilter{active: true}
	expr := o.GetEventType()
	if s := o.GetStreamIdentifier(); s != nil {
		f.onStream, expr = true, s
	}
	f.prefixes = expr.GetPrefix()
	if expr.GetRegex() != "" {
		re, err := regexp.Compile(expr.GetRegex())
		if err != nil {
			return eventFilter{}, status.Errorf(codes.InvalidArgument, "filter regex: %v", err)
		}
		f.re = re
	}
	return f, nil
}

func (f eventFilter) match(r *record) bool {
	if !f.active {
		return true
	}
	subject := r.eventType
	if f.onStream {
		subject = r.stream
	}
	if f.re != nil && f.re.MatchString(subject) {
		return true
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(subject, p) {
			return true
		}
	}
	return false
}
