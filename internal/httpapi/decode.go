package httpapi

import (
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
// 400 for an empty body, malformed JSON, unknown fields, wrong types or data
// after the JSON value. Nothing about v is guaranteed on error.
func DecodeJSON(c echo.Context, v any) error {
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			return NewProblem(http.StatusUnsupportedMediaType, CodeUnsupportedMedia,
				fmt.Sprintf("content type %q is not JSON", ct))
		}
	}
	dec := json.NewDecoder(req.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeProblem(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return decodeProblem(err)
		}
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
