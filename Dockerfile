# syntax=docker/dockerfile:1
# OctoStore lock server: a static binary on distroless/static, as a non-root user, its
# database on the /data volume.
#
#   docker build -t octostore .
#   docker run -d --name octostore -p 3000:3000 -v octostore-data:/data octostore
#   docker logs octostore 2>&1 | grep OCTOSTORE_TOKEN     # the first start's token
#
# make image builds the same image without a container engine (deploy/image, an OCI
# layout tarball in dist/); the two agree on user, entrypoint, port, volume and labels.
ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
COPY sdk/go/go.mod sdk/go/go.sum ./sdk/go/
RUN go mod download
COPY . .
ARG VERSION=""
ARG COMMIT=""
ARG DATE=""
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -buildid= -X github.com/octostore/octostore/impl/version.version=${VERSION} -X github.com/octostore/octostore/impl/version.commit=${COMMIT} -X github.com/octostore/octostore/impl/version.date=${DATE}" \
      -o /out/octostore-lock ./cmd/octostore-lock \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=""
ARG COMMIT=""
LABEL org.opencontainers.image.title="octostore" \
      org.opencontainers.image.description="OctoStore: leader election and distributed locking as a service" \
      org.opencontainers.image.source="https://github.com/octostore/octostore" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
COPY --from=build /out/octostore-lock /usr/local/bin/octostore-lock
COPY --from=build --chown=65532:65532 /out/data /data
# 65532 is distroless's "nonroot". The server listens on every interface inside the
# container; publish the port only where clients are (and use TLS_CERT_FILE/TLS_KEY_FILE
# or a proxy in front for anything beyond a private network).
USER 65532:65532
ENV BIND_ADDR=0.0.0.0:3000 \
    DATABASE_URL=/data/octostore.db
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/octostore-lock", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/octostore-lock"]
