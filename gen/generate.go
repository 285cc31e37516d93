// Package gen holds the code generated from openapi.yaml: the wire types, the strict
// server interface and the embedded specification. Nothing here is written by hand
// except this file; run `make generate` after changing openapi.yaml.
package gen

import _ "embed"

//go:generate cp ../openapi.yaml openapi.yaml
//go:generate go tool oapi-codegen -config server.cfg.yaml openapi.yaml
//go:generate go tool oapi-codegen -config client.cfg.yaml openapi.yaml

// SpecYAML is openapi.yaml byte for byte, as the server was generated from it.
//
//go:embed openapi.yaml
var SpecYAML []byte
