package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/getkin/kin-openapi/openapi3"
)

// Options name what the generated code is called.
type Options struct {
	Namespace   string
	ClientClass string
}

// API is the language-neutral view of the spec the emitter writes out.
type API struct {
	Options
	Title      string
	Version    string
	Models     []Model
	Constants  []ConstantSet
	Operations []Operation
	Schemes    []Scheme
	// ErrorModel is the schema every error response carries (Problem), or "" if none.
	ErrorModel string
}

// Model is a class generated from an object schema.
type Model struct {
	Name  string
	Doc   string
	Props []Prop
}

// Prop is one JSON member of a model.
type Prop struct {
	JSONName string
	Name     string
	Doc      string
	Type     csType
	Required bool // always sent (and always present in an answer)
	Nullable bool // its value may be JSON null: a value type is then Nullable<T>
}

// ConstantSet is a static class holding the values of a string enum.
type ConstantSet struct {
	Name   string
	Of     string // Model.Property
	Doc    string
	Values []Constant
}

// Constant is one enum value.
type Constant struct {
	Name  string
	Value string
}

// Scheme is a security scheme the client can send.
type Scheme struct {
	Key      string // name in components.securitySchemes
	Property string // client property holding the credential
	Doc      string
	Bearer   bool   // Authorization: Bearer <value>
	Header   string // otherwise: an API key in this header
}

// Operation is one generated client method.
type Operation struct {
	Method     string
	Name       string
	Path       string
	Summary    string
	Doc        string
	PathParams []Param
	Query      []Param
	Body       *Param
	Result     Result
	Schemes    []Scheme
}

// Param is a method parameter.
type Param struct {
	WireName string
	Name     string
	Doc      string
	Type     csType
	Required bool
}

// Result is what a successful call returns.
type Result struct {
	Kind   resultKind
	Type   csType
	Accept []string
}

type resultKind int

const (
	resultNone resultKind = iota
	resultJSON
	resultText
)

// csType is a C# type: the name used in code, and how the emitter must treat it.
type csType struct {
	Name      string
	Value     bool // a value type: optional uses are Nullable<T>
	Timestamp bool // RFC 3339 on the wire, DateTimeOffset in code
	Elem      *csType
}

// Optional is the type to use when the value may be absent.
func (t csType) Optional() string {
	if t.Value {
		return t.Name + "?"
	}
	return t.Name
}

func run(specPath, out string, opts Options) error {
	api, err := load(specPath, opts)
	if err != nil {
		return err
	}
	files, err := emit(api)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(out, f.Name), f.Data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", f.Name, err)
		}
	}
	return nil
}

func load(specPath string, opts Options) (*API, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(specPath)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", specPath, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate %s: %w", specPath, err)
	}
	return build(doc, opts)
}

// build turns a loaded document into the generator's model. It refuses constructs it
// cannot express rather than emitting a client that silently lacks them.
func build(doc *openapi3.T, opts Options) (*API, error) {
	b := &builder{doc: doc, api: &API{Options: opts, Title: doc.Info.Title, Version: doc.Info.Version}}
	if err := b.schemes(); err != nil {
		return nil, err
	}
	if err := b.models(); err != nil {
		return nil, err
	}
	if err := b.operations(); err != nil {
		return nil, err
	}
	return b.api, nil
}

type builder struct {
	doc *openapi3.T
	api *API
}

func (b *builder) schemes() error {
	names := sortedKeys(b.doc.Components.SecuritySchemes)
	bearers := 0
	for _, key := range names {
		s := b.doc.Components.SecuritySchemes[key].Value
		switch {
		case s.Type == "http" && strings.EqualFold(s.Scheme, "bearer"):
			bearers++
			b.api.Schemes = append(b.api.Schemes, Scheme{Key: key, Property: "Token", Doc: s.Description, Bearer: true})
		case s.Type == "apiKey" && s.In == "header":
			b.api.Schemes = append(b.api.Schemes, Scheme{Key: key, Property: pascal(key), Doc: s.Description, Header: s.Name})
		case s.Type == "apiKey" && s.In == "cookie":
			// A browser session: only x-browser-only operations use it, and those are
			// not generated.
		default:
			return fmt.Errorf("security scheme %s: only http bearer and header API keys are supported", key)
		}
	}
	if bearers > 1 {
		return errors.New("more than one bearer security scheme")
	}
	return nil
}

func (b *builder) models() error {
	for _, name := range sortedKeys(b.doc.Components.Schemas) {
		s := b.doc.Components.Schemas[name].Value
		if !s.Type.Is(openapi3.TypeObject) {
			continue // primitives are inlined where they are used
		}
		if len(s.Properties) == 0 {
			return fmt.Errorf("schema %s: objects without properties are not supported", name)
		}
		if len(s.AllOf)+len(s.OneOf)+len(s.AnyOf) > 0 {
			return fmt.Errorf("schema %s: allOf/oneOf/anyOf are not supported", name)
		}
		m := Model{Name: pascal(name), Doc: s.Description}
		for _, pname := range propertyOrder(s) {
			pref := s.Properties[pname]
			t, err := b.typeOf(pref)
			if err != nil {
				return fmt.Errorf("schema %s, property %s: %w", name, pname, err)
			}
			p := Prop{JSONName: pname, Name: pascal(pname), Doc: describe(pref), Type: t, Required: slices.Contains(s.Required, pname), Nullable: pref.Value.Nullable}
			if p.Name == m.Name {
				p.Name += "Value" // C# forbids a member named like its class
			}
			m.Props = append(m.Props, p)
			if enum := pref.Value.Enum; len(enum) > 0 {
				cs, err := constants(m.Name+p.Name, m.Name+"."+p.Name, enum)
				if err != nil {
					return fmt.Errorf("schema %s, property %s: %w", name, pname, err)
				}
				b.api.Constants = append(b.api.Constants, cs)
			}
		}
		b.api.Models = append(b.api.Models, m)
	}
	return nil
}

// propertyOrder is the schema's documented order: properties with x-order first, by it,
// then the rest by name (the order oapi-codegen gives the server's structs).
func propertyOrder(s *openapi3.Schema) []string {
	names := sortedKeys(s.Properties)
	order := func(n string) float64 {
		ref := s.Properties[n]
		for _, ext := range []map[string]any{ref.Extensions, ref.Value.Extensions} {
			if v, ok := ext["x-order"].(float64); ok {
				return v
			}
		}
		return 1e9
	}
	sort.SliceStable(names, func(i, j int) bool { return order(names[i]) < order(names[j]) })
	return names
}

func describe(ref *openapi3.SchemaRef) string {
	return ref.Value.Description
}

func constants(name, of string, enum []any) (ConstantSet, error) {
	cs := ConstantSet{Name: name, Of: of}
	for _, v := range enum {
		s, ok := v.(string)
		if !ok {
			return cs, fmt.Errorf("enum value %v: only string enums are supported", v)
		}
		cs.Values = append(cs.Values, Constant{Name: pascal(s), Value: s})
	}
	return cs, nil
}

// typeOf maps a schema to a C# type. Named object schemas become their class; named
// primitive schemas (LockName, TTLSeconds, …) are inlined as the primitive.
func (b *builder) typeOf(ref *openapi3.SchemaRef) (csType, error) {
	s := ref.Value
	if ref.Ref != "" && s.Type.Is(openapi3.TypeObject) {
		return csType{Name: pascal(refName(ref.Ref))}, nil
	}
	switch {
	case s.Type.Is(openapi3.TypeString):
		if s.Format == "date-time" {
			return csType{Name: "DateTimeOffset", Value: true, Timestamp: true}, nil
		}
		return csType{Name: "string"}, nil
	case s.Type.Is(openapi3.TypeInteger):
		if s.Format == "int32" {
			return csType{Name: "int", Value: true}, nil
		}
		return csType{Name: "long", Value: true}, nil
	case s.Type.Is(openapi3.TypeNumber):
		return csType{Name: "double", Value: true}, nil
	case s.Type.Is(openapi3.TypeBoolean):
		return csType{Name: "bool", Value: true}, nil
	case s.Type.Is(openapi3.TypeArray):
		elem, err := b.typeOf(s.Items)
		if err != nil {
			return csType{}, err
		}
		if elem.Timestamp {
			return csType{}, errors.New("arrays of timestamps are not supported")
		}
		return csType{Name: "List<" + elem.Name + ">", Elem: &elem}, nil
	case s.Type.Is(openapi3.TypeObject):
		return csType{}, errors.New("inline object schemas are not supported: name it under components")
	}
	return csType{}, fmt.Errorf("unsupported schema type %v", s.Type.Slice())
}

var methodOrder = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

func (b *builder) operations() error {
	errorModels := map[string]bool{}
	for _, path := range sortedKeys(b.doc.Paths.Map()) {
		item := b.doc.Paths.Value(path)
		for _, method := range methodOrder {
			op := item.GetOperation(method)
			if op == nil || op.Extensions["x-browser-only"] == true {
				continue // pages and browser-session calls are not part of an API client
			}
			o, errs, err := b.operation(path, method, item, op)
			if err != nil {
				return fmt.Errorf("%s %s: %w", method, path, err)
			}
			for _, e := range errs {
				errorModels[e] = true
			}
			b.api.Operations = append(b.api.Operations, o)
		}
		for _, method := range []string{http.MethodHead, http.MethodOptions, http.MethodTrace} {
			if item.GetOperation(method) != nil {
				return fmt.Errorf("%s %s: method not supported", method, path)
			}
		}
	}
	sort.Slice(b.api.Operations, func(i, j int) bool { return b.api.Operations[i].Name < b.api.Operations[j].Name })
	switch len(errorModels) {
	case 0:
	case 1:
		for name := range errorModels {
			b.api.ErrorModel = name
		}
	default:
		return fmt.Errorf("error responses use several schemas (%v): only one is supported", sortedKeys(errorModels))
	}
	return nil
}

func (b *builder) operation(path, method string, item *openapi3.PathItem, op *openapi3.Operation) (Operation, []string, error) {
	if op.OperationID == "" {
		return Operation{}, nil, errors.New("operationId is required")
	}
	o := Operation{Method: method, Name: pascal(op.OperationID) + "Async", Path: path, Summary: op.Summary, Doc: op.Description}

	params := append(openapi3.Parameters{}, item.Parameters...)
	params = append(params, op.Parameters...)
	for _, pref := range params {
		p := pref.Value
		t, err := b.typeOf(p.Schema)
		if err != nil {
			return o, nil, fmt.Errorf("parameter %s: %w", p.Name, err)
		}
		param := Param{WireName: p.Name, Name: camel(p.Name), Doc: p.Description, Type: t, Required: p.Required}
		switch p.In {
		case openapi3.ParameterInPath:
			o.PathParams = append(o.PathParams, param)
		case openapi3.ParameterInQuery:
			if t.Elem != nil {
				return o, nil, fmt.Errorf("parameter %s: array query parameters are not supported", p.Name)
			}
			o.Query = append(o.Query, param)
		default:
			return o, nil, fmt.Errorf("parameter %s: only path and query parameters are supported", p.Name)
		}
	}
	// Path parameters in the order they appear in the path, required query ones first.
	sort.SliceStable(o.PathParams, func(i, j int) bool {
		return strings.Index(path, "{"+o.PathParams[i].WireName+"}") < strings.Index(path, "{"+o.PathParams[j].WireName+"}")
	})
	sort.SliceStable(o.Query, func(i, j int) bool { return o.Query[i].Required && !o.Query[j].Required })

	if rb := op.RequestBody; rb != nil {
		mt := rb.Value.Content.Get("application/json")
		if mt == nil || len(rb.Value.Content) != 1 {
			return o, nil, errors.New("only application/json request bodies are supported")
		}
		t, err := b.typeOf(mt.Schema)
		if err != nil {
			return o, nil, fmt.Errorf("request body: %w", err)
		}
		o.Body = &Param{Name: "body", Doc: "The request body.", Type: t, Required: rb.Value.Required}
		if mt.Schema.Ref != "" {
			o.Body.Doc = refDoc(mt.Schema)
		}
	}

	var errs []string
	successes := 0
	for _, code := range sortedKeys(op.Responses.Map()) {
		resp := op.Responses.Value(code).Value
		if !strings.HasPrefix(code, "2") {
			for ct, mt := range resp.Content {
				if mt.Schema == nil || mt.Schema.Ref == "" || !strings.HasSuffix(ct, "json") {
					return o, nil, fmt.Errorf("response %s: error bodies must be a named JSON schema", code)
				}
				errs = append(errs, pascal(refName(mt.Schema.Ref)))
			}
			continue
		}
		successes++
		if successes > 1 {
			return o, nil, errors.New("more than one success response")
		}
		res, err := b.result(resp)
		if err != nil {
			return o, nil, fmt.Errorf("response %s: %w", code, err)
		}
		o.Result = res
	}
	if successes == 0 {
		return o, nil, errors.New("no success response")
	}

	sec := b.doc.Security
	if op.Security != nil {
		sec = *op.Security
	}
	for _, req := range sec {
		for _, key := range sortedKeys(req) {
			if ref := b.doc.Components.SecuritySchemes[key]; ref != nil && ref.Value.In == "cookie" {
				return o, nil, fmt.Errorf("security scheme %s: a cookie session is only for x-browser-only operations", key)
			}
			for _, s := range b.api.Schemes {
				if s.Key == key && !slices.ContainsFunc(o.Schemes, func(x Scheme) bool { return x.Key == key }) {
					o.Schemes = append(o.Schemes, s)
				}
			}
		}
	}
	return o, errs, nil
}

func (b *builder) result(resp *openapi3.Response) (Result, error) {
	if len(resp.Content) == 0 {
		return Result{Kind: resultNone}, nil
	}
	if len(resp.Content) != 1 {
		return Result{}, errors.New("several success media types are not supported")
	}
	for ct, mt := range resp.Content {
		if ct == "application/json" {
			t, err := b.typeOf(mt.Schema)
			if err != nil {
				return Result{}, err
			}
			return Result{Kind: resultJSON, Type: t, Accept: []string{ct}}, nil
		}
		if mt.Schema != nil && mt.Schema.Value.Type.Is(openapi3.TypeString) {
			return Result{Kind: resultText, Type: csType{Name: "string"}, Accept: []string{ct}}, nil
		}
		return Result{}, fmt.Errorf("media type %s is not supported", ct)
	}
	panic("unreachable")
}

func refDoc(ref *openapi3.SchemaRef) string {
	if ref.Value.Description != "" {
		return ref.Value.Description
	}
	return "A " + pascal(refName(ref.Ref)) + "."
}

func refName(ref string) string {
	return ref[strings.LastIndex(ref, "/")+1:]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// pascal turns snake_case, kebab-case and camelCase names into PascalCase, keeping
// existing capitals: lease_id → LeaseId, getOpenAPI → GetOpenAPI, BearerAuth → BearerAuth.
func pascal(s string) string {
	var out strings.Builder
	upper := true
	for _, r := range s {
		if r == '_' || r == '-' || r == '.' || r == ' ' {
			upper = true
			continue
		}
		if upper {
			out.WriteRune(unicode.ToUpper(r))
			upper = false
			continue
		}
		out.WriteRune(r)
	}
	return out.String()
}

// camel is pascal with a lower-case first letter, escaped when it is a C# keyword.
func camel(s string) string {
	p := []rune(pascal(s))
	if len(p) == 0 {
		return s
	}
	p[0] = unicode.ToLower(p[0])
	name := string(p)
	if csKeywords[name] {
		return "@" + name
	}
	return name
}

var csKeywords = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`abstract as base bool break byte case catch char checked class const
		continue decimal default delegate do double else enum event explicit extern false finally
		fixed float for foreach goto if implicit in int interface internal is lock long namespace
		new null object operator out override params private protected public readonly ref return
		sbyte sealed short sizeof stackalloc static string struct switch this throw true try typeof
		uint ulong unchecked unsafe ushort using virtual void volatile while`) {
		csKeywords[k] = true
	}
}
