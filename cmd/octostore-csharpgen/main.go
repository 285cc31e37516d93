// Command octostore-csharpgen generates the C# client in sdk/csharp from openapi.yaml.
//
// Mainstream C# generators emit code that needs the .NET SDK and NuGet packages to build.
// This one emits a dependency-free client instead: HttpClient for the wire and
// DataContractJsonSerializer for JSON, in C# 6 so that Mono's compiler builds it as well as
// a modern .NET SDK. It supports the OpenAPI constructs this project's spec uses and stops
// with an error on anything else, so a spec change it cannot express is never skipped.
//
//	go run ./cmd/octostore-csharpgen -spec openapi.yaml -out sdk/csharp/src/OctoStore
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	spec := flag.String("spec", "openapi.yaml", "the OpenAPI document to read")
	out := flag.String("out", "sdk/csharp/src/OctoStore", "directory the generated files are written to")
	namespace := flag.String("namespace", "OctoStore", "C# namespace of the generated code")
	class := flag.String("class", "OctoStoreClient", "name of the generated (partial) client class")
	flag.Parse()

	if err := run(*spec, *out, Options{Namespace: *namespace, ClientClass: *class}); err != nil {
		fmt.Fprintln(os.Stderr, "octostore-csharpgen:", err)
		os.Exit(1)
	}
}
