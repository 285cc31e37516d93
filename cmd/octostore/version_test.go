package main

import (
	"strings"
	"testing"
)

func TestVersionNeedsNoServerOrToken(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	for _, args := range [][]string{{"--version"}, {"version"}} {
		var stdout, stderr strings.Builder
		if code := cli(args, none, nil, &stdout, &stderr); code != exitOK || !strings.HasPrefix(stdout.String(), "octostore (devel) (commit ") {
			t.Errorf("%v: exit %d, %q %q", args, code, stdout.String(), stderr.String())
		}
	}
}
