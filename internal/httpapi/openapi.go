package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Server is one entry of the document's servers.
type Server struct {
	URL         string
	Description string
}

// DefaultServers is the servers entry when Options.Servers is empty: where
// `cardledger serve` listens by default.
var DefaultServers = []Server{{URL: "http://127.0.0.1:8080", Description: "cardledger serve on its default address"}}

// openAPI builds the OpenAPI 3.1 document of the route table: paths,
// parameters, bodies and every answer with its schema, generated from the
// Go types each route declares (schema.go), with the route's example values.
func openAPI(opts Options, routes []Route) map[string]any {
	g := newSchemas()
	problem := g.of(reflect.TypeFor[Problem]())
	paths := map[string]any{}
	tags := map[string]bool{}
	for _, r := range routes {
		op := map[string]any{
			"summary":     r.Summary,
			"operationId": operationID(r),
			"responses":   responses(g, r, problem),
		}
		if tag := tagOf(r.Path); tag != "" {
			op["tags"] = []string{tag}
			tags[tag] = true
		}
		if params := parameters(g, r); len(params) > 0 {
			op["parameters"] = params
		}
		op["security"] = security(r)
		if len(r.Roles) > 0 {
			op["x-roles"] = uniqueRoles(append([]Role{RoleAdmin}, r.Roles...))
			if len(r.AppTypes) > 0 {
				// Open-platform apps of these types may call it too.
				op["x-app-types"] = r.AppTypes
			}
		}
		if r.Request != nil {
			op["requestBody"] = map[string]any{
				"required": !r.RequestOptional,
				"content":  map[string]any{mediaType(r.RequestType, false): media(g, r.Request, r.RequestType)},
			}
		}
		item, _ := paths[r.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[r.Path] = item
		}
		item[strings.ToLower(r.Method)] = op
	}
	servers := opts.Servers
	if len(servers) == 0 {
		servers = DefaultServers
	}
	var srv []map[string]string
	for _, s := range servers {
		srv = append(srv, map[string]string{"url": s.URL, "description": s.Description})
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title": opts.Title, "version": opts.Version,
			"description": "The cardledger API: commands, reads, the blacklist feed, batch production, analytics. " +
				"Errors are application/problem+json with a stable code (docs/errors.md).",
			"license": map[string]string{"name": "Proprietary", "identifier": "LicenseRef-cardledger"},
		},
		"servers": srv,
		"tags":    tagList(tags),
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": securitySchemes(),
			"responses":       sharedResponses(problem),
			"parameters": map[string]any{
				"RequestID": map[string]any{"name": HeaderRequestID, "in": "header", "schema": map[string]any{"type": "string"},
					"example": "req-7f3a", "description": "Your id of this request (1 to 128 printable ASCII characters), " +
						"echoed in the answer, the logs and problems' request_id; a fresh UUID when absent"},
				"CorrelationID": map[string]any{"name": HeaderCorrelationID, "in": "header", "schema": map[string]any{"type": "string"},
					"example": "loss-2026-000123", "description": "Groups the requests of one business operation; recorded in the " +
						"metadata of the events a command appends; the request id when absent"},
			},
		},
	}
	doc["components"].(map[string]any)["schemas"] = g.finish(doc)
	return doc
}

func mediaType(ct string, problem bool) string {
	switch {
	case ct != "":
		return ct
	case problem:
		return ProblemContentType
	}
	return "application/json"
}

// media is the schema and example of a body; a string is a non-JSON body.
func media(g *schemas, body any, ct string) map[string]any {
	if s, ok := body.(string); ok && ct != "" && !strings.Contains(ct, "json") {
		return map[string]any{"schema": map[string]any{"type": "string"}, "example": s}
	}
	out := map[string]any{"schema": g.of(reflect.TypeOf(body))}
	if ex := exampleOf(body); ex != nil {
		out["example"] = ex
	}
	return out
}

// exampleOf is the JSON form of v, nil when v is a zero value (a type
// given only for its schema).
func exampleOf(v any) any {
	if reflect.ValueOf(v).IsZero() {
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("httpapi: example %T: %v", v, err))
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		panic(fmt.Sprintf("httpapi: example %T: %v", v, err))
	}
	return out
}

// sharedProblems are the problem answers every route may give, kept once
// in components.responses: the plumbing's, with their descriptions.
func sharedProblems() map[int]Response {
	out := map[int]Response{}
	all := Route{Request: struct{}{}, Roles: []Role{RoleAdmin}}
	for _, p := range commonProblems(all) {
		out[p.Status] = p
	}
	return out
}

func sharedName(status int) string { return "Problem" + strconv.Itoa(status) }

// sharedResponses is components.responses.
func sharedResponses(problem map[string]any) map[string]any {
	out := map[string]any{}
	for status, p := range sharedProblems() {
		entry := map[string]any{"description": p.Description,
			"content": map[string]any{ProblemContentType: map[string]any{"schema": problem}}}
		if len(p.Headers) > 0 {
			headers := map[string]any{}
			for _, h := range p.Headers {
				headers[h.Name] = map[string]any{"description": h.Description, "schema": map[string]any{"type": "integer"}}
			}
			entry["headers"] = headers
		}
		out[sharedName(status)] = entry
	}
	return out
}

func responses(g *schemas, r Route, problem map[string]any) map[string]any {
	out := map[string]any{}
	shared := sharedProblems()
	// A status whose only answer is the plumbing's problem refers to it.
	own := map[int]bool{}
	for _, resp := range append(append([]Response{}, r.Responses...), Response{Status: r.Status, Body: r.Response}) {
		if resp.Body != nil || resp.Status < 400 {
			own[resp.Status] = true
		}
		if resp.Status >= 400 && resp.Body == nil && resp.Description != "" && resp.Description != shared[resp.Status].Description {
			own[resp.Status] = true
		}
	}
	for _, resp := range responsesOf(r) {
		if _, ok := shared[resp.Status]; ok && !own[resp.Status] {
			out[strconv.Itoa(resp.Status)] = map[string]any{"$ref": "#/components/responses/" + sharedName(resp.Status)}
			continue
		}
		key := strconv.Itoa(resp.Status)
		entry, _ := out[key].(map[string]any)
		if entry == nil {
			desc := resp.Description
			if desc == "" {
				desc = http.StatusText(resp.Status)
			}
			entry = map[string]any{"description": desc}
			out[key] = entry
		}
		isProblem := resp.Status >= 400 && resp.Body == nil
		ct := mediaType(resp.ContentType, isProblem)
		content, _ := entry["content"].(map[string]any)
		if content == nil && (resp.Body != nil || isProblem) {
			content = map[string]any{}
			entry["content"] = content
		}
		switch {
		case isProblem:
			if content[ct] == nil {
				content[ct] = map[string]any{"schema": problem}
			}
		case resp.Body != nil:
			content[ct] = media(g, resp.Body, resp.ContentType)
		}
		if len(resp.Headers) > 0 {
			headers, _ := entry["headers"].(map[string]any)
			if headers == nil {
				headers = map[string]any{}
				entry["headers"] = headers
			}
			for _, h := range resp.Headers {
				headers[h.Name] = map[string]any{"description": h.Description, "schema": paramSchema(g, h)}
			}
		}
	}
	return out
}

func paramSchema(g *schemas, p Param) map[string]any {
	s := map[string]any{"type": "string"}
	if p.Example != nil {
		s = g.of(reflect.TypeOf(p.Example))
	}
	if len(p.Enum) > 0 {
		s["enum"] = p.Enum
	}
	return s
}

// parameters are the path parameters of the template, then the route's.
func parameters(g *schemas, r Route) []map[string]any {
	var out []map[string]any
	for _, s := range strings.Split(r.Path, "/") {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			out = append(out, map[string]any{
				"name": s[1 : len(s)-1], "in": "path", "required": true,
				"schema": map[string]string{"type": "string"},
			})
		}
	}
	// Every route reads the request and correlation ids (middleware.go).
	out = append(out, map[string]any{"$ref": "#/components/parameters/RequestID"},
		map[string]any{"$ref": "#/components/parameters/CorrelationID"})
	for _, p := range r.Params {
		q := map[string]any{"name": p.Name, "in": p.In, "schema": paramSchema(g, p)}
		if p.Description != "" {
			q["description"] = p.Description
		}
		if p.Required {
			q["required"] = true
		}
		if p.Example != nil {
			q["example"] = p.Example
		}
		out = append(out, q)
	}
	return out
}

// security says how a route's caller authenticates: any one of a bearer
// key, a signed request or a registered client certificate; a hall screen
// route also takes a display token in the URL; a keyless route needs none.
func security(r Route) []map[string][]string {
	if len(r.Roles) == 0 {
		return []map[string][]string{}
	}
	out := []map[string][]string{{"bearer": {}}, {"signed": {}}, {"clientCertificate": {}}}
	if r.DisplayToken {
		out = append(out, map[string][]string{"displayToken": {}})
	}
	return out
}

func securitySchemes() map[string]any {
	return map[string]any{
		"bearer": map[string]string{"type": "http", "scheme": "bearer",
			"description": "API key of a registered client (cardledger clients add), as Authorization: Bearer <key>"},
		"signed": map[string]string{"type": "apiKey", "in": "header", "name": HeaderSignature,
			"description": "Signed request: X-CL-Client, X-CL-Timestamp, X-CL-Nonce and X-CL-Signature, the lowercase hex " +
				"HMAC-SHA256 with the client's secret of a canonical string of the request (see the README)"},
		"clientCertificate": map[string]string{"type": "mutualTLS",
			"description": "A TLS client certificate whose subject was registered with clients add --auth tls --subject"},
		"displayToken": map[string]string{"type": "apiKey", "in": "query", "name": "display_token",
			"description": "The key of a display client (hall screen); accepted in the URL on the dashboard data only"},
	}
}

func tagList(tags map[string]bool) []map[string]string {
	names := make([]string, 0, len(tags))
	for t := range tags {
		names = append(names, t)
	}
	sort.Strings(names)
	out := make([]map[string]string, len(names))
	for i, t := range names {
		out[i] = map[string]string{"name": t, "description": "Operations under /v1/" + t}
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
