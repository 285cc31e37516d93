// Command octostore is the OctoStore command-line client: run a command only while
// holding a lock, and look at or release locks.
//
//	octostore run <lock> [--ttl 30s] [--wait 1m] [--grace 10s] [--owner o] [--metadata m] [--max-holders N] [--lock-delay 10s] -- <command…>
//	octostore acquire <lock> [--ttl 30s] [--wait 0s] [--owner o] [--metadata m]
//	octostore release <lock> <lease-id>
//	octostore status <lock>
//	octostore list
//	octostore watch <prefix> [--index N]
//	octostore backup --out FILE    (operator: OCTOSTORE_ADMIN_KEY)
//
// The server is OCTOSTORE_URL (default http://127.0.0.1:3000), or a comma-separated list
// of the URLs of a cluster's nodes, tried in turn on a transport error or a 503; the token is
// OCTOSTORE_TOKEN, or the first line of the file named by OCTOSTORE_TOKEN_FILE. Both can
// be given as flags (--url, --token-file) before the subcommand.
//
// Exit codes: 0 success; 1 an error (server unreachable, refused request); 2 bad usage;
// 75 the lock was not acquired (held by someone else, within --wait); 76 the lock was lost
// while the command ran, and the command was stopped. `run` otherwise exits with the
// command's own code, 128+N when a signal N ended it, 126 when it cannot be executed and
// 127 when it is not found.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/octostore/octostore/impl/version"
	octostore "github.com/octostore/octostore/sdk/go"
)

// Exit codes.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitNotAcquired = 75 // EX_TEMPFAIL: try again later
	exitLockLost    = 76
	exitCannotExec  = 126
	exitNotFound    = 127
)

const usage = `Usage: octostore [--url URL] [--token-file FILE] <command> [arguments]

Commands:
  run <lock> [flags] -- <command…>   run a command only while holding the lock
  acquire <lock> [flags]             take the lock once and print the lease (JSON)
  release <lock> <lease-id>          release a lease
  status <lock>                      show one lock (JSON)
  list                               show the account's active locks (JSON)
  watch <prefix> [--index N]         print every change under a prefix as JSON lines
  backup --out FILE                  save a consistent copy of the server's database
                                     (operator: OCTOSTORE_ADMIN_KEY, no token needed)
  version                            print the version, commit and build date (or --version)

Environment: OCTOSTORE_URL (default http://127.0.0.1:3000; a cluster's nodes as a
comma-separated list), OCTOSTORE_TOKEN or OCTOSTORE_TOKEN_FILE.

Exit codes: 0 ok, 1 error, 2 usage, 75 lock not acquired, 76 lock lost (run stopped
the command); run otherwise exits with the command's own code (128+N for signal N).
`

func main() {
	os.Exit(cli(os.Args[1:], os.LookupEnv, os.Stdin, os.Stdout, os.Stderr))
}

// env is what the subcommands share.
type env struct {
	client *octostore.ClientWithResponses
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// cli runs one command line and returns the exit code.
func cli(args []string, lookupEnv func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("octostore", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() { fmt.Fprint(stderr, usage) }
	url := flags.String("url", getenv(lookupEnv, "OCTOSTORE_URL", "http://127.0.0.1:3000"), "server URL, or a cluster's node URLs separated by commas (env OCTOSTORE_URL)")
	tokenFile := flags.String("token-file", getenv(lookupEnv, "OCTOSTORE_TOKEN_FILE", ""), "file holding the token (env OCTOSTORE_TOKEN_FILE)")
	showVersion := flags.Bool("version", false, "print the version, commit and build date")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *showVersion || flags.Arg(0) == "version" {
		fmt.Fprintln(stdout, version.Get().Line("octostore"))
		return exitOK
	}
	if flags.NArg() == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	if flags.Arg(0) == "help" {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	if flags.Arg(0) == "backup" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		return backup(ctx, baseURLs(*url)[0], lookupEnv, flags.Args()[1:], stdout, stderr)
	}
	token, err := readToken(lookupEnv, *tokenFile)
	if err != nil {
		fmt.Fprintf(stderr, "octostore: %v\n", err)
		return exitUsage
	}
	c, err := octostore.NewWithEndpoints(baseURLs(*url), token)
	if err != nil {
		fmt.Fprintf(stderr, "octostore: %v\n", err)
		return exitUsage
	}
	e := env{client: c, stdin: stdin, stdout: stdout, stderr: stderr}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	sub, rest := flags.Arg(0), flags.Args()[1:]
	switch sub {
	case "run":
		stop() // run forwards signals to its command itself
		return e.run(rest)
	case "acquire":
		return e.acquire(ctx, rest)
	case "release":
		return e.release(ctx, rest)
	case "status":
		return e.status(ctx, rest)
	case "list":
		return e.list(ctx, rest)
	case "watch":
		return e.watch(ctx, rest)
	}
	fmt.Fprintf(stderr, "octostore: unknown command %q\n\n%s", sub, usage)
	return exitUsage
}

func getenv(lookupEnv func(string) (string, bool), key, def string) string {
	if v, ok := lookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

// readToken takes the token from OCTOSTORE_TOKEN, or else from the token file.
func readToken(lookupEnv func(string) (string, bool), file string) (string, error) {
	if t, ok := lookupEnv("OCTOSTORE_TOKEN"); ok && strings.TrimSpace(t) != "" {
		return strings.TrimSpace(t), nil
	}
	if file == "" {
		return "", errors.New("no token: set OCTOSTORE_TOKEN or OCTOSTORE_TOKEN_FILE")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read token file: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	if t := strings.TrimSpace(line); t != "" {
		return t, nil
	}
	return "", fmt.Errorf("token file %s is empty", file)
}

// baseURLs splits a --url value into the node URLs it lists (a single server is a list of
// one); empty items are dropped.
func baseURLs(v string) []string {
	var out []string
	for _, u := range strings.Split(v, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	if len(out) == 0 {
		return []string{v}
	}
	return out
}
