package httpapi

import (
	"encoding"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"time"
	"unicode"
)

// schemas generates JSON Schema (2020-12, as OpenAPI 3.1 uses it) from the
// Go types the handlers encode and decode, following encoding/json's rules,
// so that the document describes what goes over the wire:
//
//   - a struct is an object of its json-tagged fields, embedded structs
//     inlined, and no other properties (the decoder refuses unknown fields,
//     and the server sends no others);
//   - a field is required unless its json tag has omitempty: one rule for
//     both directions (a response always carries it, a request must send
//     it); request fields with a default are tagged omitempty;
//   - a pointer field without omitempty may be null (a 3.1 type array,
//     ["string","null"], or anyOf with {"type":"null"} around a $ref);
//     slices and maps are never null (handlers send [] and {});
//   - time.Time is a date-time string, a TextMarshaler a string,
//     json.RawMessage anything;
//   - named struct types become components/schemas, referenced by $ref.
//
// This is the one place of the code base that uses reflection for the
// API: the alternative, schemas written beside the types, drifts.
type schemas struct {
	types map[reflect.Type]map[string]any // named structs, generated once
	order []reflect.Type
}

// ref is a $ref to a named struct type, resolved to a name by finish once
// every type is known (names collide across packages).
type ref struct{ t reflect.Type }

var (
	timeType      = reflect.TypeFor[time.Time]()
	rawType       = reflect.TypeFor[json.RawMessage]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
)

func newSchemas() *schemas { return &schemas{types: map[reflect.Type]map[string]any{}} }

// of returns the schema of t (a $ref for a named struct).
func (g *schemas) of(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{}
	case t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textMarshaler):
		return map[string]any{"type": "string"}
	case t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler):
		if s, ok := knownMarshalers[t.String()]; ok {
			return s()
		}
		panic("httpapi: schema of " + t.String() + ": it marshals itself; add it to knownMarshalers")
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint64:
		s := map[string]any{"type": "integer", "format": "int64"}
		if t.Kind() == reflect.Uint || t.Kind() == reflect.Uint64 {
			s["minimum"] = 0
		}
		return s
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		s := map[string]any{"type": "integer", "format": "int32"}
		if t.Kind() >= reflect.Uint8 {
			s["minimum"] = 0
		}
		return s
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": g.of(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.of(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		if t.Name() == "" {
			return g.object(t)
		}
		if _, ok := g.types[t]; !ok {
			g.types[t] = nil // reserved: recursive types refer to it
			g.order = append(g.order, t)
			g.types[t] = g.object(t)
		}
		return map[string]any{"$ref": ref{t}}
	}
	panic("httpapi: no JSON schema for " + t.String())
}

// knownMarshalers are types with their own MarshalJSON and the schema of
// what it writes.
var knownMarshalers = map[string]func() map[string]any{}

func (g *schemas) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	g.fields(t, props, &required)
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		sort.Strings(required)
		s["required"] = required
	}
	return s
}

func (g *schemas) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				g.fields(ft, props, required)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		omit := hasOpt(opts, "omitempty") || hasOpt(opts, "omitzero")
		var s map[string]any
		if hasOpt(opts, "string") {
			s = map[string]any{"type": "string"}
		} else {
			s = g.of(ft)
		}
		if ft.Kind() == reflect.Pointer && !omit {
			s = nullable(s)
		}
		props[name] = s
		if !omit {
			*required = append(*required, name)
		}
	}
}

func hasOpt(opts, want string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// nullable lets s also be null, the 3.1 way.
func nullable(s map[string]any) map[string]any {
	switch t := s["type"].(type) {
	case string:
		c := map[string]any{}
		for k, v := range s {
			c[k] = v
		}
		c["type"] = []string{t, "null"}
		return c
	case nil:
		if len(s) == 0 {
			return s
		}
	}
	return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
}

// finish names the named struct types (the Go name, made exported; with
// the package's name in front where two packages use one name), resolves
// every $ref in doc and returns components.schemas.
func (g *schemas) finish(doc any) map[string]any {
	byName := map[string][]reflect.Type{}
	for _, t := range g.order {
		byName[exported(t.Name())] = append(byName[exported(t.Name())], t)
	}
	names := map[reflect.Type]string{}
	for n, ts := range byName {
		for _, t := range ts {
			if len(ts) == 1 {
				names[t] = n
			} else {
				pkg := t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:]
				names[t] = exported(pkg) + n
			}
		}
	}
	out := map[string]any{}
	for _, t := range g.order {
		out[names[t]] = g.types[t]
	}
	resolve(doc, names)
	resolve(out, names)
	return out
}

func resolve(v any, names map[reflect.Type]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if r, ok := e.(ref); ok {
				t[k] = "#/components/schemas/" + names[r.t]
				continue
			}
			resolve(e, names)
		}
	case []any:
		for _, e := range t {
			resolve(e, names)
		}
	case []map[string]any:
		for _, e := range t {
			resolve(e, names)
		}
	}
}

// exported turns registerBody into RegisterBody and strips what a schema
// name may not hold (generic brackets).
func exported(name string) string {
	var b strings.Builder
	up := true
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	return b.String()
}
