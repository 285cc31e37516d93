package main

import "syscall"

// procAttr makes the kernel kill a started server if this program dies first.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
