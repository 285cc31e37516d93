package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// sqliteHeader starts every SQLite database file.
var sqliteHeader = []byte("SQLite format 3\x00")

// backup saves GET /admin/backup, a consistent copy of the server's database taken while
// it runs, to --out. The file appears only once it is complete (written beside it, then
// renamed). The operator's key comes from OCTOSTORE_ADMIN_KEY.
func backup(ctx context.Context, url string, lookupEnv func(string) (string, bool), args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("octostore backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "file to write the database copy to (required)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: octostore backup --out FILE\n\nSaves a consistent copy of the server's database (GET /admin/backup). The\noperator's key is OCTOSTORE_ADMIN_KEY. Restore: README, \"Backups and restore\".\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	key, _ := lookupEnv("OCTOSTORE_ADMIN_KEY")
	if *out == "" || fs.NArg() > 0 || key == "" {
		fs.Usage()
		if key == "" {
			fmt.Fprintln(stderr, "octostore: set OCTOSTORE_ADMIN_KEY to the server's ADMIN_KEY")
		}
		return exitUsage
	}
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimSuffix(url, "/")+"/admin/backup", nil)
	if err != nil {
		fmt.Fprintf(stderr, "octostore: %v\n", err)
		return exitUsage
	}
	req.Header.Set("X-Admin-Key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "octostore: backup: %v\n", err)
		return exitError
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		fmt.Fprintf(stderr, "octostore: backup: HTTP %d %s\n", res.StatusCode, bytes.TrimSpace(body))
		return exitError
	}
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".octostore-backup-*")
	if err != nil {
		fmt.Fprintf(stderr, "octostore: backup: %v\n", err)
		return exitError
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, res.Body)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && res.ContentLength >= 0 && n != res.ContentLength {
		err = fmt.Errorf("got %d of %d bytes", n, res.ContentLength)
	}
	if err == nil {
		err = checkSQLite(tmp.Name())
	}
	if err == nil {
		err = os.Rename(tmp.Name(), *out)
	}
	if err != nil {
		fmt.Fprintf(stderr, "octostore: backup: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stdout, "{\"file\":%q,\"bytes\":%d}\n", *out, n)
	return exitOK
}

func checkSQLite(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, len(sqliteHeader))
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, sqliteHeader) {
		return fmt.Errorf("the server's answer is not an SQLite database")
	}
	return nil
}
