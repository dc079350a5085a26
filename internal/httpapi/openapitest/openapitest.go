// Package openapitest checks the OpenAPI document of every test server and
// every answer those servers give against it (kin-openapi, OpenAPI 3.1 with
// JSON Schema 2020-12). Importing it in a package's tests installs the
// check in every server httpapi.NewServer builds there; httpapi refuses to
// build a server in a test binary without it, so no HTTP test can skip it.
//
// A response that does not match the document (undocumented status, field
// missing from the schema, wrong type, a required field absent, an
// undocumented media type) is replaced by a 500 problem whose detail says
// what differs, and the mismatch is printed to stderr: the test that got it
// fails, and the message names the route. Production binaries never link
// this package.
package openapitest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/internal/httpapi"
)

func init() {
	httpapi.SetResponseCheck(Middleware)
	// Non-JSON bodies are checked as strings (their schema says so).
	for _, ct := range []string{"text/csv", "text/html", "text/javascript", "application/openmetrics-text"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
	}
	// Images (holders' photos) are bytes.
	for _, ct := range []string{"image/jpeg", "image/png"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
}

var loaded sync.Map // [32]byte (SHA-256 of the document) → *openapi3.T

// Load parses doc and validates it as an OpenAPI document (3.1 rules,
// examples checked against their schemas). Test servers share documents,
// so each is parsed once.
func Load(doc []byte) (*openapi3.T, error) {
	key := sha256.Sum256(doc)
	if t, ok := loaded.Load(key); ok {
		return t.(*openapi3.T), nil
	}
	loader := openapi3.NewLoader()
	t, err := loader.LoadFromData(doc)
	if err != nil {
		return nil, fmt.Errorf("parse the OpenAPI document: %w", err)
	}
	if err := t.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("validate the OpenAPI document: %w", err)
	}
	loaded.Store(key, t)
	return t, nil
}

// Middleware is the httpapi.ResponseChecker: it buffers each answer,
// validates it against doc and passes it on, or replaces it by a 500
// problem naming the mismatch.
func Middleware(doc []byte, templates map[string]string) (echo.MiddlewareFunc, error) {
	spec, err := Load(doc)
	if err != nil {
		return nil, err
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			res := c.Response()
			orig := res.Writer
			rec := &recorder{header: orig.Header()}
			res.Writer = rec
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			res.Writer = orig
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			if mismatch := Check(spec, templates[c.Path()], c.Request(), status, rec.header, rec.body.Bytes()); mismatch != nil {
				msg := fmt.Sprintf("%s %s answered %d, which the OpenAPI document does not describe: %v",
					c.Request().Method, templates[c.Path()], status, mismatch)
				fmt.Fprintln(os.Stderr, "openapitest:", msg)
				p := httpapi.NewProblem(http.StatusInternalServerError, httpapi.CodeInternal, msg)
				body, _ := json.Marshal(p)
				rec.header.Set(echo.HeaderContentType, httpapi.ProblemContentType)
				rec.header.Del("Content-Length")
				orig.WriteHeader(http.StatusInternalServerError)
				_, _ = orig.Write(body)
				return nil
			}
			if rec.status != 0 {
				orig.WriteHeader(rec.status)
			}
			_, _ = orig.Write(rec.body.Bytes())
			return nil
		}
	}, nil
}

// Check validates one answer of the operation at template (the document's
// path) against spec. Requests no route matched, HEAD requests and answers
// to clients that went away (499) are not checked.
func Check(spec *openapi3.T, template string, req *http.Request, status int, header http.Header, body []byte) error {
	if template == "" || req.Method == http.MethodHead || status == 499 {
		return nil
	}
	item := spec.Paths.Value(template)
	if item == nil {
		return fmt.Errorf("no path %s in the document", template)
	}
	op := item.GetOperation(req.Method)
	if op == nil {
		return fmt.Errorf("no %s operation at %s in the document", req.Method, template)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req,
			Route:   &routers.Route{Spec: spec, Path: template, PathItem: item, Method: req.Method, Operation: op},
		},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// recorder holds an answer until it is checked. Headers go straight to the
// real writer's map; Flush is a no-op (long polls and streams are sent
// whole, once checked).
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

func (r *recorder) Flush() {}

// CheckContract lists what makes spec less than a contract: an operation
// without a summary, a success answer or a security statement, a body
// (request or success answer) without an example, or an example that is an
// empty placeholder ({} or [] as the whole example, "" anywhere in it). Examples that
// contradict their schema are refused by Load already.
func CheckContract(spec *openapi3.T) []string {
	var out []string
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			if op.Summary == "" || op.OperationID == "" {
				out = append(out, name+": no summary or operationId")
			}
			if op.Security == nil {
				out = append(out, name+": no security statement (a keyless route says security: [])")
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for ct, m := range op.RequestBody.Value.Content {
					if s := m.Schema; s != nil && s.Value != nil && s.Value.Type.Is("object") && len(s.Value.Properties) == 0 {
						continue // an empty body ({}): nothing to show
					}
					out = append(out, placeholder(name+" request "+ct, m.Example)...)
				}
			}
			ok := false
			for status, r := range op.Responses.Map() {
				if len(status) != 3 || status[0] != '2' {
					continue
				}
				ok = true
				for ct, m := range r.Value.Content {
					out = append(out, placeholder(name+" "+status+" "+ct, m.Example)...)
				}
			}
			if !ok {
				out = append(out, name+": no success answer")
			}
		}
	}
	return out
}

func placeholder(where string, example any) []string {
	switch v := example.(type) {
	case nil:
		return []string{where + ": no example"}
	case string:
		if v == "" {
			return []string{where + ": empty example"}
		}
		return nil
	case map[string]any:
		if len(v) == 0 {
			return []string{where + ": empty example {}"}
		}
		var out []string
		for k, e := range v {
			if e == "" {
				out = append(out, where+": example field "+k+" is empty")
			}
			if m, ok := e.(map[string]any); ok && len(m) > 0 {
				out = append(out, placeholder(where+"."+k, m)...)
			}
			if a, ok := e.([]any); ok && len(a) > 0 {
				out = append(out, placeholder(where+"."+k, a)...)
			}
		}
		return out
	case []any:
		if len(v) == 0 {
			return []string{where + ": empty example []"}
		}
		return placeholder(where+"[0]", v[0])
	}
	return nil
}

// FieldCase is a POST operation's JSON example body with one property left
// out, and whether the document says that property is required.
type FieldCase struct {
	Path, Field string
	Required    bool
	Op          *openapi3.Operation
	Body        map[string]any
}

// FieldCases lists, for every POST with a JSON example body in spec, the
// example without each of its properties: a test sends them and checks
// that the server refuses exactly the required ones (NamesField), so the
// document's required fields are the server's.
func FieldCases(spec *openapi3.T) []FieldCase {
	var out []FieldCase
	for path, item := range spec.Paths.Map() {
		op := item.Post
		if op == nil || op.RequestBody == nil || op.RequestBody.Value == nil {
			continue
		}
		media := op.RequestBody.Value.Content.Get("application/json")
		if media == nil || media.Schema == nil || media.Schema.Value == nil {
			continue
		}
		example, ok := media.Example.(map[string]any)
		if !ok {
			continue
		}
		schema := media.Schema.Value
		for field := range schema.Properties {
			body := map[string]any{}
			for k, v := range example {
				if k != field {
					body[k] = v
				}
			}
			out = append(out, FieldCase{Path: path, Field: field, Required: slices.Contains(schema.Required, field), Op: op, Body: body})
		}
	}
	return out
}

// NamesField reports whether a problem body's errors[] names field.
func NamesField(problem []byte, field string) bool {
	var p httpapi.Problem
	if json.Unmarshal(problem, &p) != nil {
		return false
	}
	for _, e := range p.Errors {
		if e.Field == field {
			return true
		}
	}
	return false
}
