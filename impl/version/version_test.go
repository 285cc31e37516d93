package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func noInfo() (*debug.BuildInfo, bool) { return nil, false }

func TestReleaseBuildReportsWhatTheLinkerSet(t *testing.T) {
	read := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Main: debug.Module{Version: "v9.9.9"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "ffff"}}}, true
	}
	in := resolve("0.2.0", "abc123", "2026-12-02T15:04:05Z", read)
	if in.Version != "0.2.0" || in.Commit != "abc123" || in.Date != "2026-12-02T15:04:05Z" {
		t.Fatalf("got %+v, want what -ldflags -X set", in)
	}
	if got := in.Line("octostore-lock"); !strings.HasPrefix(got, "octostore-lock 0.2.0 (commit abc123, built 2026-12-02T15:04:05Z, go") {
		t.Fatalf("Line = %q", got)
	}
}

func TestGoInstallOfATagReportsTheModuleVersion(t *testing.T) {
	read := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Main: debug.Module{Version: "v0.2.0"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "deadbeef"}, {Key: "vcs.time", Value: "2026-12-01T00:00:00Z"},
		}}, true
	}
	in := resolve("", "", "", read)
	if in.Version != "0.2.0" || in.Commit != "deadbeef" || in.Date != "2026-12-01T00:00:00Z" {
		t.Fatalf("got %+v", in)
	}
}

func TestDevelopmentBuildSaysDevel(t *testing.T) {
	read := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "deadbeef"}, {Key: "vcs.modified", Value: "true"},
		}}, true
	}
	if in := resolve("", "", "", read); in.Version != Devel || in.Commit != "deadbeef-dirty" || in.Date != "unknown" {
		t.Fatalf("got %+v", in)
	}
	if in := resolve("", "", "", noInfo); in.Version != Devel || in.Commit != "unknown" || in.Date != "unknown" {
		t.Fatalf("without build info got %+v", in)
	}
}
