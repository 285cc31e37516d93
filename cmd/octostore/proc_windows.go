package main

import (
	"os"
	"syscall"
)

// sysProcAttr starts the command in a process group of its own, apart from the console's
// Ctrl+C.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}

// signalCommand ends the command: Windows delivers no SIGTERM or SIGINT to another
// process, so every signal terminates it at once (no grace period), and processes it
// started are not reached.
func signalCommand(p *os.Process, _ syscall.Signal) {
	p.Kill()
}
