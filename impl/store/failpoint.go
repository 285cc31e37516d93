//go:build !failpoints

package store

// Failpoint marks a durability boundary by name. In normal builds it does nothing and
// compiles away; built with -tags failpoints it can crash the process at that boundary
// (failpoint_on.go), which is how the crash-point tests reach every one of them.
func Failpoint(name string) {}
