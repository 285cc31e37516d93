package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// healthcheck is `octostore-lock healthcheck`: it asks the server this configuration
// describes (or --url) for /health, or /ready with --ready, and exits 0 on a 200 and 1
// otherwise. Images without a shell or curl (distroless, scratch) use it as their
// HEALTHCHECK.
func healthcheck(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("octostore-lock healthcheck", flag.ContinueOnError)
	flags.SetOutput(stderr)
	url := flags.String("url", "", "server to ask (default: derived from BIND_ADDR and TLS_CERT_FILE, on loopback)")
	ready := flags.Bool("ready", false, "ask /ready (writes are served) instead of /health (the process answers)")
	timeout := flags.Duration("timeout", 5*time.Second, "give up after this long")
	flags.Usage = func() {
		fmt.Fprint(flags.Output(), "Usage: octostore-lock healthcheck [--url URL] [--ready] [--timeout 5s]\n\n"+
			"Exits 0 when the server answers 200, 1 otherwise. Without --url it asks the server\n"+
			"that the same settings (flags aside: environment, .env) describe, on loopback; over\n"+
			"TLS it then skips certificate verification (it checks liveness, not identity).\n\n")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "octostore-lock healthcheck: unexpected argument %q\n", flags.Arg(0))
		return 2
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	target := *url
	if target == "" {
		cfg, err := parseConfig(nil, lookupEnv, io.Discard)
		if err != nil {
			fmt.Fprintf(stderr, "octostore-lock healthcheck: %v\n", err)
			return 2
		}
		if target, err = loopbackURL(cfg); err != nil {
			fmt.Fprintf(stderr, "octostore-lock healthcheck: %v\n", err)
			return 2
		}
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // loopback liveness probe of our own listener
	}
	path := "/health"
	if *ready {
		path = "/ready"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target+path, nil)
	if err != nil {
		fmt.Fprintf(stderr, "octostore-lock healthcheck: %v\n", err)
		return 2
	}
	client := &http.Client{Transport: transport}
	defer client.CloseIdleConnections()
	res, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "octostore-lock healthcheck: %v\n", err)
		return 1
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "octostore-lock healthcheck: %s%s: %s: %s\n", target, path, res.Status, body)
		return 1
	}
	fmt.Fprintf(stdout, "%s", body)
	return 0
}

// loopbackURL is the URL of the server cfg describes, reached on loopback: a wildcard
// bind address (0.0.0.0, ::, empty host) is asked on 127.0.0.1 or ::1.
func loopbackURL(cfg config) (string, error) {
	host, port, err := net.SplitHostPort(cfg.BindAddr)
	if err != nil {
		return "", fmt.Errorf("bind address %q: %w", cfg.BindAddr, err)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	scheme := "http"
	if cfg.TLSCertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}
