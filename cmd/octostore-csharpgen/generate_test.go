package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

func buildFrom(t *testing.T, spec string) (*API, error) {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(spec))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return build(doc, Options{Namespace: "Test", ClientClass: "TestClient"})
}

func emitted(t *testing.T, spec string) string {
	t.Helper()
	api, err := buildFrom(t, spec)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	files, err := emit(api)
	if err != nil {
		t.Fatalf("emit: %v", err)
	}
	var all strings.Builder
	for _, f := range files {
		all.Write(f.Data)
	}
	return all.String()
}

const header = `openapi: 3.0.3
info: {title: T, version: 1.2.3}
components:
  securitySchemes:
    Bearer: {type: http, scheme: bearer}
    Admin: {type: apiKey, in: header, name: X-Admin-Key}
  schemas:
    Problem:
      type: object
      required: [code]
      properties:
        code: {type: string, enum: [bad_thing, other]}
`

// errorPath gives a spec its error schema, which the generator requires.
const errorPath = `paths:
  /e:
    get:
      operationId: getE
      responses:
        "204": {description: ok}
        "400": {description: bad, content: {application/problem+json: {schema: {$ref: "#/components/schemas/Problem"}}}}
`

func TestTheRepositorySpecGeneratesEveryOperationAndSchema(t *testing.T) {
	api, err := load("../../openapi.yaml", Options{Namespace: "OctoStore", ClientClass: "OctoStoreClient"})
	if err != nil {
		t.Fatal(err)
	}
	first, err := emit(api)
	if err != nil {
		t.Fatal(err)
	}
	second, err := emit(api)
	if err != nil {
		t.Fatal(err)
	}
	for i := range first {
		if !bytes.Equal(first[i].Data, second[i].Data) {
			t.Errorf("%s differs between two runs", first[i].Name)
		}
	}
	var code strings.Builder
	for _, f := range first {
		code.Write(f.Data)
	}
	doc, err := openapi3.NewLoader().LoadFromFile("../../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			has := strings.Contains(code.String(), "Task "+pascal(op.OperationID)+"Async(") || strings.Contains(code.String(), "> "+pascal(op.OperationID)+"Async(")
			if browserOnly := op.Extensions["x-browser-only"] == true; has == browserOnly {
				t.Errorf("operation %s: generated %v, browser-only %v", op.OperationID, has, browserOnly)
			}
		}
	}
	for name, s := range doc.Components.Schemas {
		if s.Value.Type.Is(openapi3.TypeObject) && !strings.Contains(code.String(), "public partial class "+name+"\n") {
			t.Errorf("no class for schema %s", name)
		}
	}
	if !strings.Contains(code.String(), `public const string ApiVersion = "`+doc.Info.Version+`";`) {
		t.Error("ApiVersion does not carry info.version")
	}
}

func TestTypesAndOptionality(t *testing.T) {
	code := emitted(t, header+`    Thing:
      type: object
      required: [id, count, when, seen, size]
      properties:
        id: {type: string, format: uuid}
        count: {type: integer, format: int32}
        big: {type: integer, format: int64}
        plain: {type: integer}
        ratio: {type: number}
        on: {type: boolean}
        when: {type: string, format: date-time}
        later: {type: string, format: date-time}
        tags: {type: array, items: {type: string}}
        child: {$ref: "#/components/schemas/Problem"}
        kind: {type: string, enum: [a-b, c_d]}
        seen: {type: string, format: date-time, nullable: true}
        size: {type: integer, format: int32, nullable: true}
`+errorPath)
	for _, want := range []string{
		"[DataMember(Name = \"id\")]\n        public string Id { get; set; }",
		"[DataMember(Name = \"count\")]\n        public int Count { get; set; }",
		"[DataMember(Name = \"big\", EmitDefaultValue = false)]\n        public long? Big { get; set; }",
		"public long? Plain { get; set; }",
		"public double? Ratio { get; set; }",
		"public bool? On { get; set; }",
		"private string whenWire;",
		"public DateTimeOffset When\n",
		"public DateTimeOffset? Later\n",
		// Required but nullable: always sent, and null is a value the type can hold.
		"[DataMember(Name = \"seen\")]\n        private string seenWire;",
		"public DateTimeOffset? Seen\n        {\n            get { return Wire.ParseTimestamp(seenWire); }",
		"[DataMember(Name = \"size\")]\n        public int? Size { get; set; }",
		"public List<string> Tags { get; set; }",
		"public Problem Child { get; set; }",
		"public static class ThingKind",
		"public const string AB = \"a-b\";",
	} {
		if !strings.Contains(code, want) {
			t.Errorf("generated code lacks %q", want)
		}
	}
	if !strings.Contains(code, `public const string CD = "c_d";`) {
		t.Error("enum constant names are not PascalCase")
	}
}

func TestOperationsPathQueryBodyAndAuth(t *testing.T) {
	code := emitted(t, header+`    Body:
      type: object
      properties:
        x: {type: string}
security: [{Bearer: []}]
paths:
  /items/{item_id}/do:
    post:
      operationId: doThing
      parameters:
        - {name: item_id, in: path, required: true, schema: {type: string}}
        - {name: limit, in: query, schema: {type: integer, format: int32}}
        - {name: since, in: query, required: true, schema: {type: string, format: date-time}}
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: "#/components/schemas/Body"}}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Body"}}}}
        "400": {description: bad, content: {application/problem+json: {schema: {$ref: "#/components/schemas/Problem"}}}}
  /admin:
    get:
      operationId: adminThing
      security: [{Admin: []}]
      responses:
        "204": {description: done}
  /open:
    get:
      operationId: openThing
      security: []
      responses:
        "200": {description: text, content: {text/plain: {schema: {type: string}}}}
`)
	for _, want := range []string{
		"public async Task<Body> DoThingAsync(string itemId, Body body, DateTimeOffset since, int? limit = null, CancellationToken cancellationToken = default(CancellationToken))",
		`path.Append(Uri.EscapeDataString(itemId));`,
		`path.Append(separator).Append("since").Append('=').Append(Uri.EscapeDataString(Wire.FormatTimestamp(since)));`,
		`path.Append(separator).Append("limit").Append('=').Append(Uri.EscapeDataString(limit.Value.ToString(CultureInfo.InvariantCulture)));`,
		`if (Token != null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);`,
		`public async Task AdminThingAsync(CancellationToken cancellationToken = default(CancellationToken))`,
		`if (Admin != null) request.Headers.TryAddWithoutValidation("X-Admin-Key", Admin);`,
		`public async Task<string> OpenThingAsync(`,
		`public TestClient(string baseUrl, string token = null, HttpClient httpClient = null)`,
		`public ApiException(int statusCode, Problem problem, string responseBody, TimeSpan? retryAfter)`,
	} {
		if !strings.Contains(code, want) {
			t.Errorf("generated code lacks %q", want)
		}
	}
	open := code[strings.Index(code, "OpenThingAsync("):]
	open = open[:strings.Index(open, "\n        }\n")]
	if strings.Contains(open, "Authorization") || strings.Contains(open, "X-Admin-Key") {
		t.Error("an operation with security: [] sends credentials")
	}
}

func TestUnsupportedConstructsAreRefused(t *testing.T) {
	ok := `
paths:
  /x:
    get:
      operationId: getX
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Problem"}}}}
`
	cases := map[string]struct{ spec, want string }{
		"oneOf": {header + `    Either:
      type: object
      properties: {a: {type: string}}
      oneOf: [{$ref: "#/components/schemas/Problem"}]
` + ok, "oneOf"},
		"header parameter": {header + `paths:
  /x:
    get:
      operationId: getX
      parameters: [{name: X-Thing, in: header, schema: {type: string}}]
      responses: {"204": {description: ok}}
`, "only path and query"},
		"integer enum": {header + `    Num:
      type: object
      properties: {n: {type: integer, enum: [1, 2]}}
` + ok, "string enums"},
		"two success responses": {header + `paths:
  /x:
    get:
      operationId: getX
      responses: {"200": {description: ok}, "201": {description: made}}
`, "more than one success"},
		"no operationId": {header + `paths:
  /x:
    get:
      responses: {"204": {description: ok}}
`, "operationId"},
		"inline object": {header + `    Outer:
      type: object
      properties: {inner: {type: object, properties: {a: {type: string}}}}
` + ok, "inline object"},
		"cookie auth on an API operation": {strings.Replace(header, "in: header, name: X-Admin-Key", "in: cookie, name: sid", 1) +
			strings.Replace(ok, "      operationId: getX\n", "      operationId: getX\n      security: [{Admin: []}]\n", 1), "security scheme"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := buildFrom(t, c.spec)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[string]string{
		"lease_id": "LeaseId", "getOpenAPI": "GetOpenAPI", "BearerAuth": "BearerAuth",
		"lease_not_current": "LeaseNotCurrent", "a-b.c": "ABC", "held": "Held",
	} {
		if got := pascal(in); got != want {
			t.Errorf("pascal(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"account_id": "accountId", "params": "@params", "wait_seconds": "waitSeconds"} {
		if got := camel(in); got != want {
			t.Errorf("camel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDocCommentsAreEscaped(t *testing.T) {
	code := emitted(t, header+`    Doc:
      type: object
      description: "Uses <b> & **bold** and `+"`code`"+`."
      properties: {a: {type: string}}
`+errorPath)
	if !strings.Contains(code, "/// <summary>Uses &lt;b&gt; &amp; bold and <c>code</c>.</summary>") {
		t.Error("doc comment not escaped as XML")
	}
}
