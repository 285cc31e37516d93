package impl

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/octostore/octostore/gen"
	"github.com/octostore/octostore/impl/docs"
)

// assetCacheControl is the caching of /docs and /openapi.yaml. Their addresses are not
// versioned, so a cache may keep them but must ask each time; the answer is a 304 of a
// few hundred bytes until the server is upgraded, and the new version at once after.
const assetCacheControl = "public, no-cache"

// asset is a static answer, with its gzip form and a strong ETag for each.
type asset struct {
	plain, gzipped         []byte
	plainETag, gzippedETag string
}

// newAsset compresses body once and derives its validators from its content.
func newAsset(body []byte) *asset {
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	w.Write(body)
	w.Close()
	sum := sha256.Sum256(body)
	tag := hex.EncodeToString(sum[:16])
	return &asset{plain: body, gzipped: b.Bytes(), plainETag: `"` + tag + `"`, gzippedETag: `"` + tag + `-gzip"`}
}

// docsAsset and specAsset are built once per process, on first use: compressing the
// 4.35 MB page takes most of a second of CPU, which a process that never serves /docs
// (a test, a restart loop) should not pay.
var (
	docsAsset = sync.OnceValue(func() *asset { return newAsset(docs.Page("/openapi.yaml")) })
	specAsset = sync.OnceValue(func() *asset { return newAsset(gen.SpecYAML) })
)

// pick returns the representation the request in ctx gets, its ETag, whether the
// client's copy is current, and whether the body is gzipped.
func (a *asset) pick(ctx context.Context) (body []byte, etag string, notModified, gzipped bool) {
	var h http.Header
	if info := infoFrom(ctx); info != nil {
		h = info.header
	}
	body, etag = a.plain, a.plainETag
	if acceptsGzip(strings.Join(h.Values("Accept-Encoding"), ",")) {
		body, etag, gzipped = a.gzipped, a.gzippedETag, true
	}
	inm := strings.Join(h.Values("If-None-Match"), ",")
	return body, etag, inm != "" && etagListMatches(inm, etag), gzipped
}

// acceptsGzip reports whether an Accept-Encoding header value allows gzip: named with a
// q-value above 0, or "*" above 0 without gzip named.
func acceptsGzip(header string) bool {
	star := false
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				} else {
					q = 0
				}
			}
		}
		switch coding {
		case "gzip", "x-gzip":
			return q > 0
		case "*":
			star = q > 0
		}
	}
	return star
}

// etagListMatches applies If-None-Match's weak comparison (RFC 9110, 13.1.2): "*", or
// any listed tag whose opaque part equals etag's.
func etagListMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
