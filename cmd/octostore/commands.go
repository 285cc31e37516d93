package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/google/uuid"

	octostore "github.com/octostore/octostore/sdk/go"
)

// subFlags parses a subcommand's flags, which may stand before or after its positional
// arguments: `run job --ttl 5s -- cmd` and `run --ttl 5s job -- cmd` both work. It stops
// at "--".
func subFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		// flag stops at the first non-flag argument or after "--".
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, append([]string{"--"}, rest...)...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func newFlagSet(e env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: octostore %s %s\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// printBody writes a JSON response body as the server sent it.
func (e env) printBody(body []byte) {
	e.stdout.Write(bytes.TrimSpace(body))
	fmt.Fprintln(e.stdout)
}

// failed reports a request that failed (err) or was refused (status and the problem in
// body), and returns exit code 1.
func (e env) failed(what string, err error, status int, body []byte) int {
	if err == nil {
		err = fmt.Errorf("%d %s", status, bytes.TrimSpace(body))
	}
	fmt.Fprintf(e.stderr, "octostore: %s: %v\n", what, err)
	return exitError
}

func (e env) acquire(ctx context.Context, args []string) int {
	fs := newFlagSet(e, "acquire", "<lock> [--ttl 30s] [--wait 0s] [--owner o] [--metadata m]")
	ttl := fs.Duration("ttl", 30*time.Second, "lease length (whole seconds, 1s to 1h)")
	wait := fs.Duration("wait", 0, "how long to wait in line (at most 60s)")
	owner := fs.String("owner", "", "holder name, for processes sharing one token")
	metadata := fs.String("metadata", "", "a small public value stored with the lease")
	pos, err := subFlags(fs, args)
	if err != nil || len(pos) != 1 {
		fs.Usage()
		return exitUsage
	}
	if *ttl < time.Second || *ttl > time.Hour || *ttl%time.Second != 0 || *wait < 0 || *wait > time.Minute {
		fmt.Fprintln(e.stderr, "octostore: --ttl is whole seconds from 1s to 1h, --wait from 0 to 60s")
		return exitUsage
	}
	secs := int32(*ttl / time.Second)
	body := octostore.AcquireRequest{TtlSeconds: &secs}
	if *owner != "" {
		body.Owner = owner
	}
	if *metadata != "" {
		body.Metadata = metadata
	}
	if *wait > 0 {
		w := int32(*wait / time.Second)
		body.WaitSeconds = &w
	}
	res, err := e.client.AcquireLockWithResponse(ctx, pos[0], body)
	if err != nil {
		return e.failed("acquire", err, 0, nil)
	}
	if res.JSON200 == nil {
		return e.failed("acquire", nil, res.StatusCode(), res.Body)
	}
	e.printBody(res.Body)
	if res.JSON200.Status != octostore.AcquireResultStatusAcquired {
		return exitNotAcquired
	}
	return exitOK
}

func (e env) release(ctx context.Context, args []string) int {
	fs := newFlagSet(e, "release", "<lock> <lease-id>")
	pos, err := subFlags(fs, args)
	if err != nil || len(pos) != 2 {
		fs.Usage()
		return exitUsage
	}
	id, err := uuid.Parse(pos[1])
	if err != nil {
		fmt.Fprintf(e.stderr, "octostore: lease id %q is not a UUID\n", pos[1])
		return exitUsage
	}
	res, err := e.client.ReleaseLockWithResponse(ctx, pos[0], octostore.ReleaseRequest{LeaseId: id})
	if err != nil {
		return e.failed("release", err, 0, nil)
	}
	if res.JSON200 == nil {
		return e.failed("release", nil, res.StatusCode(), res.Body)
	}
	e.printBody(res.Body)
	return exitOK
}

func (e env) status(ctx context.Context, args []string) int {
	fs := newFlagSet(e, "status", "<lock>")
	pos, err := subFlags(fs, args)
	if err != nil || len(pos) != 1 {
		fs.Usage()
		return exitUsage
	}
	res, err := e.client.GetLockWithResponse(ctx, pos[0], nil)
	if err != nil {
		return e.failed("status", err, 0, nil)
	}
	if res.JSON200 == nil {
		return e.failed("status", nil, res.StatusCode(), res.Body)
	}
	e.printBody(res.Body)
	return exitOK
}

func (e env) list(ctx context.Context, args []string) int {
	fs := newFlagSet(e, "list", "")
	pos, err := subFlags(fs, args)
	if err != nil || len(pos) != 0 {
		fs.Usage()
		return exitUsage
	}
	// The server answers a page at a time; the command prints the whole list.
	var all octostore.LockList
	limit := int32(maxListPage)
	params := &octostore.ListLocksParams{Limit: &limit}
	for page := 0; ; page++ {
		res, err := e.client.ListLocksWithResponse(ctx, params)
		if err != nil {
			return e.failed("list", err, 0, nil)
		}
		if res.JSON200 == nil {
			return e.failed("list", nil, res.StatusCode(), res.Body)
		}
		if page == 0 && res.JSON200.NextCursor == nil {
			e.printBody(res.Body)
			return exitOK
		}
		all.Locks = append(all.Locks, res.JSON200.Locks...)
		if res.JSON200.NextCursor == nil || page+1 >= maxListPages {
			break
		}
		params.Cursor = res.JSON200.NextCursor
	}
	body, err := json.Marshal(all)
	if err != nil {
		return e.failed("list", err, 0, nil)
	}
	e.printBody(body)
	return exitOK
}

// maxListPage is the largest page the server hands out; maxListPages bounds how many
// pages list follows (a million locks).
const (
	maxListPage  = 1000
	maxListPages = 1000
)
