//go:build !failpoints

// Package failpoint names the durability boundaries of the server and its storage; built
// with -tags failpoints, a test can crash the process at any of them.
package failpoint

// Hit marks a durability boundary by name. In normal builds it does nothing and
// compiles away; built with -tags failpoints it can crash the process at that boundary
// (failpoint_on.go), which is how the crash-point tests reach every one of them.
func Hit(name string) {}
