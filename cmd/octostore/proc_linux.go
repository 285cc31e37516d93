package main

import "syscall"

// sysProcAttr puts the command in its own process group and has the kernel kill it when
// octostore run dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
