//go:build unix

package main

import (
	"os"
	"syscall"
)

// signalCommand sends sig to the command's whole process group (sysProcAttr made it
// one), so what the command started hears it too.
func signalCommand(p *os.Process, sig syscall.Signal) {
	syscall.Kill(-p.Pid, sig)
}
