//go:build unix && !linux

package main

import "syscall"

// sysProcAttr puts the command in its own process group. This system has no
// parent-death signal: a command whose octostore run is killed keeps running.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
