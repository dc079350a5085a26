package httpapi

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// openAPI builds an OpenAPI 3 document from the route table. Body schemas are
// inferred from the JSON form of each route's example value, which keeps the
// document honest without a reflection framework.
func openAPI(opts Options, routes []Route) map[string]any {
	paths := map[string]map[string]any{}
	for _, r := range routes {
		op := map[string]any{
			"summary":     r.Summary,
			"operationId": operationID(r),
			"responses":   responses(r),
		}
		if tag := tagOf(r.Path); tag != "" {
			op["tags"] = []string{tag}
		}
		if params := pathParams(r.Path); len(params) > 0 {
			op["parameters"] = params
		}
		if len(r.Roles) > 0 {
			op["security"] = []map[string][]string{{"bearer": {}}, {"signed": {}}}
			roles := append([]Role{RoleAdmin}, r.Roles...)
			op["x-roles"] = uniqueRoles(roles)
		}
		if r.Request != nil {
			op["requestBody"] = map[string]any{
				"required": true,
				"content":  map[string]any{"application/json": mediaOf(r.Request)},
			}
		}
		if paths[r.Path] == nil {
			paths[r.Path] = map[string]any{}
		}
		paths[r.Path][strings.ToLower(r.Method)] = op
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]string{"title": opts.Title, "version": opts.Version},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer": map[string]string{"type": "http", "scheme": "bearer", "description": "API key of a registered client"},
				"signed": map[string]string{"type": "apiKey", "in": "header", "name": HeaderSignature,
					"description": "HMAC-SHA256 signed request with X-CL-Client, X-CL-Timestamp and X-CL-Nonce (see the README); a registered TLS client certificate also authenticates"},
			},
			"schemas": map[string]any{"Problem": problemSchema()},
		},
	}
}

func responses(r Route) map[string]any {
	status := r.Status
	if status == 0 {
		status = http.StatusOK
	}
	ok := map[string]any{"description": http.StatusText(status)}
	if r.Response != nil {
		ok["content"] = map[string]any{"application/json": mediaOf(r.Response)}
	}
	problem := func(desc string) map[string]any {
		return map[string]any{
			"description": desc,
			"content": map[string]any{ProblemContentType: map[string]any{
				"schema": map[string]string{"$ref": "#/components/schemas/Problem"},
			}},
		}
	}
	out := map[string]any{
		strconv.Itoa(status): ok,
		"default":            problem("Error (application/problem+json)"),
		"503": problem("A database it needs is down, unreachable or saturated (code dependency_unavailable, " +
			"field dependency); see Retry-After"),
	}
	if len(r.Roles) > 0 {
		out["401"] = problem("Missing or unknown API key")
		out["403"] = problem("The client's role may not call this endpoint, or the target is outside its region/bank scope (code scope_region, scope_bank)")
		out["429"] = problem("Rate limit of the client exceeded; see Retry-After")
	}
	return out
}

func mediaOf(example any) map[string]any {
	raw, err := json.Marshal(example)
	if err != nil {
		return map[string]any{}
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return map[string]any{}
	}
	return map[string]any{"schema": schemaOf(v), "example": v}
}

func schemaOf(v any) map[string]any {
	switch t := v.(type) {
	case map[string]any:
		props := map[string]any{}
		for k, e := range t {
			props[k] = schemaOf(e)
		}
		return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	case []any:
		s := map[string]any{"type": "array"}
		if len(t) > 0 {
			s["items"] = schemaOf(t[0])
		} else {
			s["items"] = map[string]any{}
		}
		return s
	case string:
		return map[string]any{"type": "string"}
	case float64:
		if t == float64(int64(t)) {
			return map[string]any{"type": "integer"}
		}
		return map[string]any{"type": "number"}
	case bool:
		return map[string]any{"type": "boolean"}
	}
	return map[string]any{"nullable": true}
}

func problemSchema() map[string]any {
	str := map[string]string{"type": "string"}
	return map[string]any{
		"type":     "object",
		"required": []string{"type", "title", "status", "code"},
		"properties": map[string]any{
			"type":       str,
			"title":      str,
			"status":     map[string]string{"type": "integer"},
			"detail":     str,
			"code":       str,
			"request_id": str,
			"dependency": str,
			"errors": map[string]any{
				"type": "array",
				"items": map[string]any{
					"type":       "object",
					"properties": map[string]any{"field": str, "code": str, "message": str},
				},
			},
		},
	}
}

func pathParams(path string) []map[string]any {
	var out []map[string]any
	for _, s := range strings.Split(path, "/") {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			out = append(out, map[string]any{
				"name": s[1 : len(s)-1], "in": "path", "required": true,
				"schema": map[string]string{"type": "string"},
			})
		}
	}
	return out
}

func operationID(r Route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(r.Method))
	for _, s := range strings.Split(r.Path, "/") {
		s = strings.Trim(s, "{}")
		for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// tagOf groups operations by the first path segment after the version.
func tagOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) > 1 && strings.HasPrefix(parts[0], "v") {
		return parts[1]
	}
	return ""
}

func uniqueRoles(roles []Role) []string {
	set := map[string]bool{}
	for _, r := range roles {
		set[string(r)] = true
	}
	out := make([]string, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}
