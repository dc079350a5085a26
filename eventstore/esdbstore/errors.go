package esdbstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cardledger/cardledger/eventstore"
)

// clientError returns the client's *esdb.Error carried by err and true, or
// nil and false when err is nil. It exists because esdb.FromError reports
// "no error" with true, ignores wrapping and turns foreign errors into
// ErrorCodeUnknown; here the bool means "there is an error" and a wrapped
// *esdb.Error is found.
func clientError(err error) (*esdb.Error, bool) {
	if err == nil {
		return nil, false
	}
	var e *esdb.Error
	if errors.As(err, &e) {
		return e, true
	}
	e, _ = esdb.FromError(err)
	return e, true
}

// hasCode reports whether err is a client error with the given code.
func hasCode(err error, code esdb.ErrorCode) bool {
	e, ok := clientError(err)
	return ok && e.Code() == code
}

// wrongVersionMessage is how the v4 client words a wrong expected version;
// the actual revision exists nowhere else in its result.
var wrongVersionMessage = regexp.MustCompile(`but got '(no_stream|-?\d+)'`)

// actualRevision reads the stream's actual revision out of a wrong expected
// version error.
func actualRevision(err error) (rev uint64, exists bool, ok bool) {
	m := wrongVersionMessage.FindStringSubmatch(err.Error())
	if m == nil {
		return 0, false, false
	}
	if m[1] == "no_stream" || m[1] == "-1" {
		return 0, false, true
	}
	n, perr := strconv.ParseUint(m[1], 10, 64)
	if perr != nil {
		return 0, false, false
	}
	return n, true, true
}

// maxAppendSizeMessage is the server's refusal of an oversize append
// (RpcExceptions.MaxAppendSizeExceeded). The v4 client keeps the status but
// drops the "maximum-append-size-exceeded" exception trailer and reports
// ErrorCodeUnknown, so the status is all there is to recognise it by.
var maxAppendSizeMessage = regexp.MustCompile(`^Maximum Append Size of (\d+) Exceeded\.$`)

// appendSizeExceeded reports whether err is the server's refusal of an
// oversize append, and the server's limit. A server configured below
// eventstore.MaxAppendSize can refuse what the port allows; when it ends
// the call while the client is still sending, the client reports only EOF
// and the refusal cannot be told from a lost connection.
func appendSizeExceeded(err error) (limit int, ok bool) {
	var gs interface{ GRPCStatus() *status.Status }
	if !hasCode(err, esdb.ErrorCodeUnknown) || !errors.As(err, &gs) {
		return 0, false
	}
	st := gs.GRPCStatus()
	if st.Code() != codes.InvalidArgument {
		return 0, false
	}
	m := maxAppendSizeMessage.FindStringSubmatch(st.Message())
	if m == nil {
		return 0, false
	}
	limit, perr := strconv.Atoi(m[1])
	return limit, perr == nil
}

// opError wraps a failed operation's error with context, preferring the
// caller's context error so errors.Is(err, context.Canceled) works: the
// client reports cancellation as its own error codes.
func opError(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", op, ctxErr)
	}
	if hasCode(err, esdb.ErrorCodeResourceNotFound) || hasCode(err, esdb.ErrorCodeStreamDeleted) {
		return fmt.Errorf("%s: %w: %w", op, eventstore.ErrStreamNotFound, err)
	}
	if unreachable(err) {
		return fmt.Errorf("%s: %w: %w", op, eventstore.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// unreachable: the server could not be reached or could not take the
// request now (down, not ready, not the leader, timed out: Aborted is the
// server's "Operation timed out"), or the client gave up (dead). The client
// reports this either as its own error codes or, from some calls, as the
// bare gRPC status.
func unreachable(err error) bool {
	if hasCode(err, esdb.ErrorUnavailable) || hasCode(err, esdb.ErrorCodeDeadlineExceeded) ||
		hasCode(err, esdb.ErrorCodeNotLeader) || hasCode(err, esdb.ErrorAborted) || dead(err) ||
		errors.Is(err, errReconnecting) {
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return true
	}
	return false
}
