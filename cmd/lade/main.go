// Command lade builds OCI images from Dockerfiles and runs them, with no
// daemon. See README.md for the commands and flags.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/lade-build/lade/container"
	"github.com/lade-build/lade/internal/userns"
	"github.com/lade-build/lade/runner"
)

func main() {
	if runner.Reexec() || container.Reexec() {
		return
	}
	if code, exit := userns.Enter(os.Stderr); exit {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	done := startProfile()
	code := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	done()
	stop()
	os.Exit(code)
}
