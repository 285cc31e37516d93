package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/octostore/octostore/impl/tlscert"
)

// reloadOnSIGHUP reloads the TLS certificate and key from their files on every SIGHUP
// until the returned stop is called. Open connections keep theirs; a reload that fails
// is logged and the certificate served so far stays. Without TLS (certs nil) a SIGHUP
// is logged and otherwise ignored, so a service manager's reload never stops the server.
func reloadOnSIGHUP(certs *tlscert.Reloader, log *slog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			case <-hup:
				if certs == nil {
					log.Info("SIGHUP: nothing to reload (TLS is off)")
					continue
				}
				if err := certs.Reload(); err != nil {
					log.Error("TLS certificate not reloaded: still serving the previous one", "err", err)
					continue
				}
				leaf := certs.Certificate().Leaf
				log.Info("TLS certificate reloaded", "subject", leaf.Subject.String(), "not_after", leaf.NotAfter.UTC())
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
		<-finished
	}
}
