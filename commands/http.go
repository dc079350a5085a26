package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// Headers of the command API.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderOperator       = "X-Operator"
	HeaderReplayed       = "Idempotent-Replayed"
)

// CommandResponse is the body of every successful command.
type CommandResponse struct {
	CardholderID  string            `json:"cardholder_id"`
	CardNo        string            `json:"card_no,omitempty"`
	CardStatus    domain.CardStatus `json:"card_status,omitempty"`
	ApplicationID string            `json:"application_id,omitempty"`
	Revision      uint64            `json:"revision"`
	Position      string            `json:"position"`
	Events        []string          `json:"events"`
	// LinkedCardholders: an erasure of a person whose ID number changed
	// names the other cardholder ids of the chain, erased in the same call.
	LinkedCardholders []string `json:"linked_cardholders,omitempty"`
}

func responseFor(r Result) CommandResponse {
	out := CommandResponse{
		CardholderID: r.CardholderID, Revision: r.Revision, Position: r.Position.String(),
		Events: make([]string, len(r.Events)), LinkedCardholders: r.Linked,
	}
	for i, e := range r.Events {
		out.Events[i] = e.EventType()
	}
	if r.State != nil && r.State.Card != nil {
		out.CardNo = r.State.Card.CardNo
		out.CardStatus = r.State.Card.Status
		out.ApplicationID = r.State.Card.ApplicationID
	}
	return out
}

// etag is the strong ETag of a stream revision; If-Match accepts it with or
// without quotes.
func etag(rev uint64) string { return `"` + strconv.FormatUint(rev, 10) + `"` }

// commandRoute builds the handler of one table row: decode the body into B,
// run the command, answer with CommandResponse, all under the If-Match and
// Idempotency-Key rules.
func commandRoute[B any](a *API, r httpapi.Route, optionalBody bool,
	run func(ctx context.Context, c echo.Context, env Envelope, body B) (Result, error)) httpapi.Route {
	return keyedRoute(a, r, optionalBody, false, run)
}

// oneAppendRoute is commandRoute for a run that is one load–decide–append
// of one stream (Pipeline.Run once, nothing written before or after it):
// its Idempotency-Key record may ride on that append (see Idempotency).
func oneAppendRoute[B any](a *API, r httpapi.Route, optionalBody bool,
	run func(ctx context.Context, c echo.Context, env Envelope, body B) (Result, error)) httpapi.Route {
	return keyedRoute(a, r, optionalBody, true, run)
}

func keyedRoute[B any](a *API, r httpapi.Route, optionalBody, oneAppend bool,
	run func(ctx context.Context, c echo.Context, env Envelope, body B) (Result, error)) httpapi.Route {
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	if r.Response == nil {
		r.Responses = append([]httpapi.Response{{Status: r.Status, Body: exampleAnswer(r.Path),
			Headers: []httpapi.Param{httpapi.ETagHeader, replayed}}}, r.Responses...)
	}
	r.Params = append(append([]httpapi.Param{}, commandParams...), r.Params...)
	r.Responses = append(r.Responses, commandProblems...)
	r.RequestOptional = optionalBody
	status, command := r.Status, r.Path
	r.Handler = func(c echo.Context) error {
		return a.serveCommand(c, status, oneAppend, func(env Envelope) (res Result, err error) {
			// Counted per run: an answer replayed from an Idempotency-Key
			// runs nothing and counts nothing.
			defer func() { a.metrics.observe(command, err) }()
			var body B
			decode := httpapi.DecodeJSON
			if optionalBody {
				decode = httpapi.DecodeOptionalJSON
			}
			if err := decode(c, &body); err != nil {
				return Result{}, err
			}
			return run(c.Request().Context(), c, env, body)
		})
	}
	return r
}

func (a *API) serveCommand(c echo.Context, status int, oneAppend bool, exec func(Envelope) (Result, error)) error {
	env, err := envelopeFrom(c)
	if err != nil {
		return err
	}
	key := c.Request().Header.Get(HeaderIdempotencyKey)
	if key == "" {
		res, err := exec(env)
		if err != nil {
			return a.commandError(err)
		}
		c.Response().Header().Set("ETag", etag(res.Revision))
		return c.JSON(status, responseFor(res))
	}

	if !validIdempotencyKey(key) {
		return httpapi.BadRequest(CodeInvalidIdempotencyKey, "Idempotency-Key must be 1 to 128 printable ASCII characters")
	}
	raw, err := httpapi.ReadBody(c)
	if err != nil {
		return err
	}
	hash := a.requestHash(c.Request().Method, c.Request().URL.Path, raw)
	env.CommandID = CommandIDFor(env.Actor.Client, key)
	ctx := c.Request().Context()
	// A request may run its command more than once (runFirst, then
	// answerAgain or under a claim): each run decodes the body afresh.
	exec = func(run func(Envelope) (Result, error)) func(Envelope) (Result, error) {
		return func(env Envelope) (Result, error) {
			c.Request().Body = io.NopCloser(bytes.NewReader(raw))
			return run(env)
		}
	}(exec)
	var ran *ranFirst
	if oneAppend && a.idem.inAppends {
		done, first, err := a.runFirst(c, env, status, key, hash, exec)
		if done {
			return err
		}
		ran = first
	}
	also := a.earlierHashes(c.Request().Method, c.Request().URL.Path, raw)
	claim, stored, err := a.idem.Claim(ctx, env.Actor.Client, key, hash, also...)
	if err != nil {
		return a.commandError(err)
	}
	if stored != nil && stored.Rerun {
		return a.answerAgain(c, status, ran, func() (Result, error) { return exec(env) })
	}
	if stored != nil {
		c.Response().Header().Set(HeaderReplayed, "true")
		return writeStored(c, *stored)
	}
	// Whatever ends the request without a stored answer (a 5xx, a panic)
	// frees the key, so that a retry runs the command again at once.
	answered := false
	defer func() {
		if answered {
			return
		}
		if err := claim.Release(context.WithoutCancel(ctx)); err != nil {
			a.log.WithError(err).Warn("release idempotency key")
		}
	}()

	res, err := exec(env)
	out, err := answerOf(c, status, res, err)
	if err != nil {
		return err
	}
	first, err := claim.Complete(context.WithoutCancel(ctx), out)
	if err != nil {
		// The command happened; the key is released and a retry finds the
		// command's events in the stream.
		a.log.WithError(err).Warn("store idempotent response")
	} else {
		answered = true
	}
	// A command a request before this one had already applied (it died
	// before answering) is answered from its events: say it is a replay.
	if res.Replayed || first.Status != out.Status || string(first.Body) != string(out.Body) {
		c.Response().Header().Set(HeaderReplayed, "true")
	}
	return writeStored(c, first)
}

// ranFirst is the answer of a run made before the key was claimed.
type ranFirst struct {
	out      StoredResponse
	replayed bool // a success found applied already
}

// runFirst runs a one-append command before claiming its key, the key's
// row riding on its append (see Idempotency). done: the request is
// answered (or failed with err, a 5xx that stores nothing). Otherwise the
// key has a row already and Claim must say what it holds; first is the
// run's answer, or nil when the append was refused for the key's row
// (nothing was written: that success must never be answered) or because
// the store cannot write the row with the events.
func (a *API) runFirst(c echo.Context, env Envelope, status int, key string, hash []byte,
	exec func(Envelope) (Result, error)) (done bool, first *ranFirst, err error) {
	rec := &AppendRecord{Row: a.idem.Row(env.Actor.Client, key, hash, status)}
	env.Record = rec
	res, err := exec(env)
	if errors.Is(err, eventstore.ErrRowConflict) || errors.Is(err, eventstore.ErrRowAppendUnsupported) {
		// Nothing was written: the key has a row, or the store cannot
		// write one with the events (then claiming first decides).
		return false, nil, nil
	}
	out, err := answerOf(c, status, res, err)
	if err != nil {
		return true, nil, err
	}
	if rec.Written {
		return true, nil, writeStored(c, out)
	}
	ctx := c.Request().Context()
	recorded, err := a.idem.Record(context.WithoutCancel(ctx), env.Actor.Client, key, hash, out)
	if err != nil {
		// Whether the key has a row (another request's: this run may have
		// found that request's events, under the same command id) is not
		// known: the claim reads it, as when Record stores nothing.
		a.log.WithError(err).Warn("store idempotent response")
	}
	if !recorded {
		return false, &ranFirst{out: out, replayed: out.Status < 400 && res.Replayed}, nil
	}
	if res.Replayed {
		c.Response().Header().Set(HeaderReplayed, "true")
	}
	return true, nil, writeStored(c, out)
}

// answerAgain answers a key recorded with its command's events: from the
// events, found by running the command again (Replayed), or by our own
// run if it found them already.
func (a *API) answerAgain(c echo.Context, status int, ran *ranFirst, rerun func() (Result, error)) error {
	out := StoredResponse{}
	if ran != nil && ran.replayed {
		out = ran.out
	} else {
		res, err := rerun()
		if out, err = answerOf(c, status, res, err); err != nil {
			return err
		}
	}
	c.Response().Header().Set(HeaderReplayed, "true")
	return writeStored(c, out)
}

// answerOf is the answer to store and send for a run's result: the
// success, or the problem of a refusal (4xx). A run that failed otherwise
// (5xx) has no answer to keep and returns its error.
func answerOf(c echo.Context, status int, res Result, err error) (StoredResponse, error) {
	if err != nil {
		p := ProblemFor(err)
		if p == nil || p.Status >= 500 {
			return StoredResponse{}, err
		}
		cp := *p
		cp.RequestID = httpapi.RequestID(c)
		body, err := json.Marshal(cp)
		return StoredResponse{Status: cp.Status, Body: body}, err
	}
	body, err := json.Marshal(responseFor(res))
	return StoredResponse{Status: status, ETag: etag(res.Revision), Body: body}, err
}

// commandError passes known errors on as problems and the rest as they are
// (the server logs them and answers 500).
func (a *API) commandError(err error) error {
	if p := ProblemFor(err); p != nil {
		return p
	}
	return err
}

func writeStored(c echo.Context, r StoredResponse) error {
	h := c.Response().Header()
	if r.ETag != "" {
		h.Set("ETag", r.ETag)
	}
	ct := echo.MIMEApplicationJSON
	if r.Status >= 400 {
		ct = httpapi.ProblemContentType
	}
	return c.Blob(r.Status, ct, r.Body)
}

func validIdempotencyKey(k string) bool {
	if len(k) == 0 || len(k) > 128 {
		return false
	}
	for i := range len(k) {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// envelopeFrom collects who and what from the request: the authenticated
// client, the X-Operator at its counter, the correlation id and If-Match.
func envelopeFrom(c echo.Context) (Envelope, error) {
	p, _ := httpapi.PrincipalFrom(c)
	env := NewEnvelope(domain.Actor{Client: p.Client}, "http")
	if p.Channel != "" {
		// An e-card channel acts for the holder whose stream it writes (or
		// whose access log records the read): the audit row says which.
		env.Channel = ChannelMetadata(p.Channel)
	}
	env.CorrelationID = httpapi.CorrelationID(c)
	env.CausationID = httpapi.RequestID(c)
	env.Scope = p.Scope()
	env.RemoteAddr = c.RealIP()
	if tls := c.Request().TLS; tls != nil && len(tls.VerifiedChains) > 0 && len(tls.VerifiedChains[0]) > 0 {
		env.Actor.CertSubject = tls.VerifiedChains[0][0].Subject.String()
	}

	op, err := OperatorFrom(c)
	if err != nil {
		return Envelope{}, err
	}
	env.Actor.Operator = op

	if im := strings.TrimSpace(c.Request().Header.Get("If-Match")); im != "" && im != "*" {
		im = strings.Trim(strings.TrimPrefix(im, "W/"), `"`)
		rev, err := strconv.ParseUint(im, 10, 64)
		if err != nil {
			return Envelope{}, httpapi.BadRequest(CodeInvalidIfMatch, "If-Match must be a stream revision such as \"7\"")
		}
		env.Expected = &rev
	}
	return env, nil
}

// OperatorFrom returns the X-Operator header, trimmed: it goes into every
// event's metadata, so text that is not UTF-8 (which JSON encoding would
// turn into U+FFFD), control characters or more than 64 characters are a
// 400 invalid_operator. Every API that records the operator reads it here.
func OperatorFrom(c echo.Context) (string, error) {
	op := strings.TrimSpace(c.Request().Header.Get(HeaderOperator))
	if !validOperator(op) {
		return "", httpapi.BadRequest(CodeInvalidOperator, "X-Operator must be at most 64 printable characters (UTF-8)")
	}
	return op, nil
}

func validOperator(s string) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > 64 {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// ChannelMetadata is the metadata channel (domain.Metadata.Channel, the
// audit row's channel) of what an e-card channel does: "ecard:<code>".
func ChannelMetadata(code string) string { return "ecard:" + code }
