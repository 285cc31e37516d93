//go:build tools

// Package tools pins the code generator; go.mod's tool directive runs it as
// `go tool oapi-codegen` (see gen/generate.go).
package tools

import _ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
