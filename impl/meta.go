package impl

import (
	"bytes"
	"context"
	"errors"
	"net/http"

	"github.com/octostore/octostore/gen"
	"github.com/octostore/octostore/impl/docs"
)

// GetHealth reports that the server is up (liveness) and whether its storage accepts
// writes.
func (s *Server) GetHealth(context.Context, gen.GetHealthRequestObject) (gen.GetHealthResponseObject, error) {
	out := gen.GetHealth200JSONResponse{Status: gen.HealthStatusOk, Storage: gen.StorageState{State: gen.StorageStateStateOk}, Version: &s.cfg.Version}
	if h := s.commits.Health(); h.Degraded != nil {
		since := timestamp(h.Since)
		out.Storage = gen.StorageState{State: gen.StorageStateStateDegraded, Reason: &h.Reason, Since: &since}
	}
	return out, nil
}

// GetReady answers 200 when this process serves writes, and 503 with the reason when its
// storage refuses them (or it is shutting down).
func (s *Server) GetReady(ctx context.Context, _ gen.GetReadyRequestObject) (gen.GetReadyResponseObject, error) {
	if err := s.commits.Writable(); err != nil {
		detail, code := "The server is shutting down.", gen.ProblemCodeUnavailable
		if c := s.cfg.Cluster; c != nil && errors.Is(err, ErrNoLeader) {
			// A follower serves writes by forwarding them to the leader it knows.
			if id, u := c.LeaderURL(); id != "" && id != c.ID() && u != "" {
				return gen.GetReady200JSONResponse{Status: gen.ReadyStatusReady}, nil
			}
			detail, code = "This cluster node knows no leader now (an election is under way, or it is cut off from a majority).", gen.ProblemCodeNoLeader
		} else if h := s.commits.Health(); h.Degraded != nil {
			detail = "The database does not accept writes: " + h.Reason + ". Reads of durable state are served; the server recovers by itself when the disk accepts writes again."
		}
		return gen.GetReady503ApplicationProblemPlusJSONResponse{UnavailableApplicationProblemPlusJSONResponse: gen.UnavailableApplicationProblemPlusJSONResponse{
			Body: gen.Problem{
				Type:      "urn:octostore:problem:" + string(code),
				Title:     titles[code],
				Status:    http.StatusServiceUnavailable,
				Code:      code,
				Detail:    &detail,
				RequestId: requestID(ctx),
			},
			Headers: gen.UnavailableResponseHeaders{RetryAfter: 1},
		}}, nil
	}
	return gen.GetReady200JSONResponse{Status: gen.ReadyStatusReady}, nil
}

// GetDocs serves the Scalar API reference from the binary: gzipped when the client
// takes it, 304 when its copy is current.
func (s *Server) GetDocs(ctx context.Context, _ gen.GetDocsRequestObject) (gen.GetDocsResponseObject, error) {
	body, etag, current, gzipped := docsAsset().pick(ctx)
	if current {
		return gen.GetDocs304Response{Headers: gen.GetDocs304ResponseHeaders{ETag: etag, CacheControl: assetCacheControl, Vary: "Accept-Encoding"}}, nil
	}
	h := gen.GetDocs200ResponseHeaders{
		ContentSecurityPolicy: docs.HeaderContentSecurityPolicy,
		ETag:                  etag,
		CacheControl:          assetCacheControl,
		Vary:                  "Accept-Encoding",
	}
	if gzipped {
		h.ContentEncoding = &gzipEncoding
	}
	return gen.GetDocs200TexthtmlResponse{Body: bytes.NewReader(body), ContentLength: int64(len(body)), Headers: h}, nil
}

var gzipEncoding = "gzip"

// GetOpenAPI serves openapi.yaml byte for byte (gzipped when the client takes it).
func (s *Server) GetOpenAPI(ctx context.Context, _ gen.GetOpenAPIRequestObject) (gen.GetOpenAPIResponseObject, error) {
	body, etag, current, gzipped := specAsset().pick(ctx)
	if current {
		return gen.GetOpenAPI304Response{Headers: gen.GetOpenAPI304ResponseHeaders{ETag: etag, CacheControl: assetCacheControl, Vary: "Accept-Encoding"}}, nil
	}
	h := gen.GetOpenAPI200ResponseHeaders{ETag: etag, CacheControl: assetCacheControl, Vary: "Accept-Encoding"}
	if gzipped {
		h.ContentEncoding = &gzipEncoding
	}
	return gen.GetOpenAPI200ApplicationyamlResponse{Body: bytes.NewReader(body), ContentLength: int64(len(body)), Headers: h}, nil
}
