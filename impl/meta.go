package impl

import (
	"bytes"
	"context"

	"github.com/octostore/octostore/gen"
	"github.com/octostore/octostore/impl/docs"
)

// GetHealth reports that the server is up.
func (s *Server) GetHealth(context.Context, gen.GetHealthRequestObject) (gen.GetHealthResponseObject, error) {
	return gen.GetHealth200JSONResponse{Status: gen.Ok}, nil
}

// GetDocs serves the Scalar API reference from the binary.
func (s *Server) GetDocs(context.Context, gen.GetDocsRequestObject) (gen.GetDocsResponseObject, error) {
	page := docs.Page("/openapi.yaml")
	return gen.GetDocs200TexthtmlResponse{
		Body:          bytes.NewReader(page),
		ContentLength: int64(len(page)),
		Headers:       gen.GetDocs200ResponseHeaders{ContentSecurityPolicy: docs.ContentSecurityPolicy},
	}, nil
}

// GetOpenAPI serves openapi.yaml byte for byte.
func (s *Server) GetOpenAPI(context.Context, gen.GetOpenAPIRequestObject) (gen.GetOpenAPIResponseObject, error) {
	return gen.GetOpenAPI200ApplicationyamlResponse{Body: bytes.NewReader(gen.SpecYAML), ContentLength: int64(len(gen.SpecYAML))}, nil
}
