package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// DecodeJSON decodes the request body into v strictly. It returns a *Problem:
// 415 for a non-JSON content type, 413 for a body over the route's limit, and
// 400 for an empty body, text that is not UTF-8 (invalid_utf8), malformed
// JSON, unknown fields, wrong types or data after the JSON value. Nothing about v is guaranteed on error.
func DecodeJSON(c echo.Context, v any) error {
	return decode(c, v, false)
}

// DecodeOptionalJSON is DecodeJSON for routes whose body may be omitted: an
// empty body leaves v as it is and is not an error.
func DecodeOptionalJSON(c echo.Context, v any) error {
	return decode(c, v, true)
}

// ReadBody returns the raw body (for hashing, e.g. idempotency keys) after
// the same content-type and size checks as DecodeJSON, and puts it back so
// that a later DecodeJSON reads it again.
func ReadBody(c echo.Context) ([]byte, error) {
	req := c.Request()
	if err := requireJSON(req); err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, nil
	}
	data, err := io.ReadAll(req.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, decodeProblem(err)
		}
		return nil, fmt.Errorf("read body: %w", err)
	}
	req.Body = io.NopCloser(bytes.NewReader(data))
	return data, nil
}

func requireJSON(req *http.Request) error {
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			return NewProblem(http.StatusUnsupportedMediaType, CodeUnsupportedMedia,
				fmt.Sprintf("content type %q is not JSON", ct))
		}
	}
	return nil
}

func decode(c echo.Context, v any, optional bool) error {
	req := c.Request()
	if err := requireJSON(req); err != nil {
		return err
	}
	if req.Body == nil {
		if optional {
			return nil
		}
		return BadRequest(CodeEmptyBody, "the body is empty; a JSON object is required")
	}
	data, err := io.ReadAll(req.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return decodeProblem(err)
		}
		return fmt.Errorf("read body: %w", err)
	}
	if p := checkJSONText(data); p != nil {
		return p
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if optional && errors.Is(err, io.EOF) {
			return nil
		}
		return decodeProblem(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return BadRequest(CodeTrailingData, "the body holds data after the JSON value")
	}
	return nil
}

func decodeProblem(err error) *Problem {
	var (
		tooLarge  *http.MaxBytesError
		syntax    *json.SyntaxError
		wrongType *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return NewProblem(http.StatusRequestEntityTooLarge, CodeBodyTooLarge,
			fmt.Sprintf("the body is larger than %d bytes", tooLarge.Limit))
	case errors.Is(err, io.EOF):
		return BadRequest(CodeEmptyBody, "the body is empty; a JSON object is required")
	case errors.As(err, &syntax):
		return BadRequest(CodeMalformedJSON, fmt.Sprintf("malformed JSON at byte %d: %v", syntax.Offset, err))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest(CodeMalformedJSON, "malformed JSON: unexpected end of body")
	case errors.As(err, &wrongType):
		field := wrongType.Field
		return BadRequest(CodeWrongType, "a field has the wrong JSON type", FieldError{
			Field:   field,
			Code:    CodeWrongType,
			Message: fmt.Sprintf("expected %s, got %s", jsonKind(wrongType.Type.Kind().String()), wrongType.Value),
		})
	}
	// encoding/json reports unknown fields only as text.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return BadRequest(CodeUnknownField, fmt.Sprintf("unknown field %q", name), FieldError{
			Field:   name,
			Code:    CodeUnknownField,
			Message: "this field is not part of the request",
		})
	}
	return BadRequest(CodeMalformedJSON, err.Error())
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "number"
	}
	return goKind
}
