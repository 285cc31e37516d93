package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func TestBackupSavesTheServersCopyWithTheAdminKey(t *testing.T) {
	db := append([]byte("SQLite format 3\x00"), make([]byte, 4080)...)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/admin/backup" || r.Header.Get("X-Admin-Key") != "k-0123456789abcdef" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write(db)
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "octostore.db")
	env := func(k string) (string, bool) {
		v, ok := map[string]string{"OCTOSTORE_URL": srv.URL, "OCTOSTORE_ADMIN_KEY": "k-0123456789abcdef"}[k]
		return v, ok
	}
	var stdout, stderr bytes.Buffer
	if code := cli([]string{"backup", "--out", out}, env, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, db) {
		t.Fatalf("saved %d bytes, %v", len(got), err)
	}

	noKey := func(k string) (string, bool) {
		if k == "OCTOSTORE_URL" {
			return srv.URL, true
		}
		return "", false
	}
	if code := cli([]string{"backup", "--out", out + "2"}, noKey, nil, &stdout, &stderr); code != exitUsage {
		t.Fatalf("without a key: exit %d", code)
	}
	wrongKey := func(k string) (string, bool) {
		if k == "OCTOSTORE_ADMIN_KEY" {
			return "wrong-key-0123456789", true
		}
		return noKey(k)
	}
	if code := cli([]string{"backup", "--out", out + "3"}, wrongKey, nil, &stdout, &stderr); code != exitError {
		t.Fatalf("refused: exit %d", code)
	}
	if _, err := os.Stat(out + "3"); err == nil {
		t.Fatal("a refused backup left a file")
	}
}
