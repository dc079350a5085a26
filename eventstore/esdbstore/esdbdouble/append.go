package esdbdouble

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Append reads the options message, then every proposed message, and writes
// them in one step once the client closes its side.
func (s *streams) Append(srv api.Streams_AppendServer) error {
	first, err := srv.Recv()
	if err != nil {
		return err
	}
	opts := first.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "first append message must carry options")
	}
	stream := string(opts.GetStreamIdentifier().GetStreamName())
	expected := appendExpectation(opts)
	var events []proposed
	size := 0
	for {
		msg, err := srv.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		pm := msg.GetProposedMessage()
		if pm == nil {
			return status.Error(codes.InvalidArgument, "expected a proposed message after the options")
		}
		e, err := proposedFromProto(pm)
		if err != nil {
			return err
		}
		// Like the server, refuse as soon as the running total is over,
		// without reading the rest: a client still sending then sees EOF.
		if size += e.sizeOnDisk(); size > s.maxAppendSize {
			return maxAppendSizeExceeded(srv.Context(), s.maxAppendSize)
		}
		events = append(events, e)
	}
	out := s.log.append(stream, expected, events)
	if out.deleted {
		return streamDeleted(srv.Context(), stream)
	}
	if !out.wrong && out.wrote && s.node.faults.takeLostReply() {
		return status.Error(codes.Unavailable, "append written, reply lost")
	}
	if out.wrong {
		return srv.SendAndClose(&api.AppendResp{Result: &api.AppendResp_WrongExpectedVersion_{
			WrongExpectedVersion: wrongExpectedVersion(expected, out),
		}})
	}
	return srv.SendAndClose(&api.AppendResp{Result: &api.AppendResp_Success_{Success: appendSuccess(out)}})
}

func appendExpectation(o *api.AppendReq_Options) expectation {
	switch v := o.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_Revision:
		return expectation{kind: expectRevision, revision: v.Revision}
	case *api.AppendReq_Options_NoStream:
		return expectation{kind: expectNoStream}
	case *api.AppendReq_Options_StreamExists:
		return expectation{kind: expectStreamExists}
	default:
		return expectation{kind: expectAny}
	}
}

func proposedFromProto(pm *api.AppendReq_ProposedMessage) (proposed, error) {
	id, err := uuidFromProto(pm.GetId())
	if err != nil {
		return proposed{}, status.Errorf(codes.InvalidArgument, "event id: %v", err)
	}
	typ, okType := pm.GetMetadata()[metaType]
	ct, okCT := pm.GetMetadata()[metaContentType]
	if !okType || !okCT {
		return proposed{}, status.Error(codes.InvalidArgument, "proposed message lacks type or content-type metadata")
	}
	return proposed{id: id, eventType: typ, contentType: ct, data: pm.GetData(), metadata: pm.GetCustomMetadata()}, nil
}

func appendSuccess(out appendOutcome) *api.AppendResp_Success {
	res := &api.AppendResp_Success{}
	if out.exists {
		res.CurrentRevisionOption = &api.AppendResp_Success_CurrentRevision{CurrentRevision: out.current}
	} else {
		res.CurrentRevisionOption = &api.AppendResp_Success_NoStream{NoStream: &shared.Empty{}}
	}
	if out.hasPos {
		res.PositionOption = &api.AppendResp_Success_Position{Position: &api.AppendResp_Position{
			CommitPosition: out.position, PreparePosition: out.position,
		}}
	} else {
		res.PositionOption = &api.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}}
	}
	return res
}

// wrongExpectedVersion fills both the current fields and the pre-20.6 ones,
// as the server does for older clients.
func wrongExpectedVersion(expected expectation, out appendOutcome) *api.AppendResp_WrongExpectedVersion {
	w := &api.AppendResp_WrongExpectedVersion{}
	if out.exists {
		w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: out.current}
		w.CurrentRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_CurrentRevision_20_6_0{CurrentRevision_20_6_0: out.current}
	} else {
		w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
		w.CurrentRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_NoStream_20_6_0{NoStream_20_6_0: &shared.Empty{}}
	}
	switch expected.kind {
	case expectRevision:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: expected.revision}
		w.ExpectedRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_ExpectedRevision_20_6_0{ExpectedRevision_20_6_0: expected.revision}
	case expectNoStream:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
	case expectStreamExists:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_StreamExists_20_6_0{StreamExists_20_6_0: &shared.Empty{}}
	default:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_Any_20_6_0{Any_20_6_0: &shared.Empty{}}
	}
	return w
}

// sizeOnDisk is what an event adds to an append's size: data, metadata and
// the type at two bytes a character (a .NET string's length is in UTF-16
// units), as KurrentDB counts it; see the package doc.
func (p proposed) sizeOnDisk() int {
	return len(p.data) + len(p.metadata) + 2*utf16Len(p.eventType)
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n++
		}
		n++
	}
	return n
}

// maxAppendSizeExceeded is how the server refuses an oversize append:
// InvalidArgument, with the exception and the limit in the trailers. The v4
// Go client has no code for it and reports ErrorCodeUnknown.
func maxAppendSizeExceeded(ctx context.Context, limit int) error {
	_ = grpc.SetTrailer(ctx, metadata.Pairs("exception", "maximum-append-size-exceeded",
		"maximum-append-size", strconv.Itoa(limit)))
	return status.Errorf(codes.InvalidArgument, "Maximum Append Size of %d Exceeded.", limit)
}

// streamDeleted is how the server reports a tombstoned stream: a failed
// precondition whose trailers name the exception and the stream, which the
// client turns into ErrorCodeStreamDeleted.
func streamDeleted(ctx context.Context, stream string) error {
	_ = grpc.SetTrailer(ctx, metadata.Pairs("exception", "stream-deleted", "stream-name", stream))
	return status.Error(codes.FailedPrecondition, fmt.Sprintf("Event stream '%s' is deleted.", stream))
}

// wrongExpectedVersionError is how deletes report a failed expectation: they
// have no result message for it, so it travels as an exception.
func wrongExpectedVersionError(ctx context.Context, expected expectation, out appendOutcome) error {
	current := "-1"
	if out.exists {
		current = fmt.Sprint(out.current)
	}
	_ = grpc.SetTrailer(ctx, metadata.Pairs("exception", "wrong-expected-version", "current-stream-revision", current))
	return status.Errorf(codes.FailedPrecondition, "Append failed due to WrongExpectedVersion. Expected version: %v. Current version: %s.", expected, current)
}
