package esdbdouble

import (
	"context"

	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
)

// Delete soft-deletes a stream: reads report it missing, and a later append
// continues its numbering.
func (s *streams) Delete(ctx context.Context, req *api.DeleteReq) (*api.DeleteResp, error) {
	o := req.GetOptions()
	stream := string(o.GetStreamIdentifier().GetStreamName())
	expected := deleteExpectation(o.GetExpectedStreamRevision())
	out := s.log.softDelete(stream, expected)
	if err := deleteError(ctx, stream, expected, out); err != nil {
		return nil, err
	}
	return &api.DeleteResp{PositionOption: &api.DeleteResp_Position_{Position: &api.DeleteResp_Position{
		CommitPosition: out.position, PreparePosition: out.position,
	}}}, nil
}

// Tombstone deletes a stream for good: reads and appends fail with
// stream-deleted from then on.
func (s *streams) Tombstone(ctx context.Context, req *api.TombstoneReq) (*api.TombstoneResp, error) {
	o := req.GetOptions()
	stream := string(o.GetStreamIdentifier().GetStreamName())
	var expected expectation
	switch v := o.GetExpectedStreamRevision().(type) {
	case *api.TombstoneReq_Options_Revision:
		expected = expectation{kind: expectRevision, revision: v.Revision}
	case *api.TombstoneReq_Options_NoStream:
		expected = expectation{kind: expectNoStream}
	case *api.TombstoneReq_Options_StreamExists:
		expected = expectation{kind: expectStreamExists}
	}
	out := s.log.tombstone(stream, expected)
	if err := deleteError(ctx, stream, expected, out); err != nil {
		return nil, err
	}
	return &api.TombstoneResp{PositionOption: &api.TombstoneResp_Position_{Position: &api.TombstoneResp_Position{
		CommitPosition: out.position, PreparePosition: out.position,
	}}}, nil
}

func deleteExpectation(v any) expectation {
	switch v := v.(type) {
	case *api.DeleteReq_Options_Revision:
		return expectation{kind: expectRevision, revision: v.Revision}
	case *api.DeleteReq_Options_NoStream:
		return expectation{kind: expectNoStream}
	case *api.DeleteReq_Options_StreamExists:
		return expectation{kind: expectStreamExists}
	default:
		return expectation{kind: expectAny}
	}
}

func deleteError(ctx context.Context, stream string, expected expectation, out appendOutcome) error {
	switch {
	case out.deleted:
		return streamDeleted(ctx, stream)
	case out.wrong:
		return wrongExpectedVersionError(ctx, expected, out)
	}
	return nil
}
