// Package version says which build of OctoStore is running: the release version, the
// commit it was built from and when that commit was made.
//
// A release build (make release) sets all three with the linker:
//
//	-X github.com/octostore/octostore/impl/version.version=0.2.0
//	-X github.com/octostore/octostore/impl/version.commit=<full commit hash>
//	-X github.com/octostore/octostore/impl/version.date=2026-12-02T15:04:05Z
//
// Any other build falls back to what the Go toolchain recorded (the module version of a
// `go install …@v0.2.0`, the VCS revision and time of a build in a checkout), and to
// "(devel)" and "unknown" when it recorded nothing.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set by the release build with -ldflags -X; empty otherwise.
var (
	version string
	commit  string
	date    string
)

// Devel is the version of a build that is not a release.
const Devel = "(devel)"

// Info describes one build.
type Info struct {
	// Version is the release version without a leading "v" (0.2.0), or Devel.
	Version string
	// Commit is the full commit hash the binary was built from, or "unknown".
	Commit string
	// Date is the commit's time in RFC 3339 UTC (a release's build date: release builds
	// are reproducible, so they are dated by their commit), or "unknown".
	Date string
	// GoVersion is the Go toolchain that built the binary.
	GoVersion string
	// Platform is GOOS/GOARCH.
	Platform string
}

// Get returns the running binary's build information.
func Get() Info {
	return resolve(version, commit, date, debug.ReadBuildInfo)
}

func resolve(v, c, d string, read func() (*debug.BuildInfo, bool)) Info {
	in := Info{Version: v, Commit: c, Date: d, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := read(); ok {
		if in.Version == "" && bi.Main.Version != "" && bi.Main.Version != Devel {
			in.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && in.Commit == "":
				in.Commit = s.Value
			case s.Key == "vcs.time" && in.Date == "":
				in.Date = s.Value
			case s.Key == "vcs.modified" && s.Value == "true" && c == "" && in.Commit != "":
				in.Commit += "-dirty"
			}
		}
	}
	in.Version = strings.TrimPrefix(in.Version, "v")
	if in.Version == "" {
		in.Version = Devel
	}
	if in.Commit == "" {
		in.Commit = "unknown"
	}
	if in.Date == "" {
		in.Date = "unknown"
	}
	return in
}

// String is the line --version prints: "<program> <version> (commit <hash>, built <date>, <go> <os/arch>)".
func (in Info) String() string {
	return fmt.Sprintf("%s (commit %s, built %s, %s %s)", in.Version, in.Commit, in.Date, in.GoVersion, in.Platform)
}

// Line is what a program's --version prints: its name, then String.
func (in Info) Line(program string) string {
	return program + " " + in.String()
}
