package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lade-build/lade/apiserver"
)

func init() {
	commands = append(commands, (*app).serveCmd)
}

// serveCmd is lade serve: the Docker Engine API on the -H addresses, over
// the same --root as the CLI, until lade is interrupted.
func (a *app) serveCmd() *cobra.Command {
	var hosts []string
	var t apiserver.TLSOptions
	var debug bool
	c := command("serve [-H unix:///run/lade/lade.sock] [-H tcp://127.0.0.1:2375] [--tlsverify --tlscacert CA --tlscert CERT --tlskey KEY]",
		"Serve the Docker Engine API, so docker's clients (DOCKER_HOST) drive lade", cobra.NoArgs,
		a.withStores(func(ctx context.Context, _ []string) error {
			o := apiserver.Options{Root: a.root, Images: a.images, Snapshots: a.snapshots, Content: a.content, Insecure: a.insecure, Policy: a.policy}
			if debug {
				o.Debug = a.stderr
			}
			srv, err := apiserver.New(o)
			if err != nil {
				return err
			}
			tlsConf, err := t.Config()
			if err != nil {
				return err
			}
			var ls []apiserver.Listener
			defer func() {
				for _, l := range ls {
					l.Close()
				}
			}()
			for _, h := range hosts {
				l, err := apiserver.Listen(h, tlsConf)
				if err != nil {
					return err
				}
				ls = append(ls, l)
				fmt.Fprintf(a.stderr, "API listening on %s\n", h)
			}
			return srv.Serve(ctx, ls)
		}))
	c.Example = `  lade serve &
  DOCKER_HOST=unix:///run/lade/lade.sock docker ps
  lade serve -H unix:///run/lade/lade.sock -H tcp://127.0.0.1:2375
  lade serve -H tcp://0.0.0.0:2376 --tlsverify --tlscacert ca.pem --tlscert server.pem --tlskey server-key.pem`
	fl := c.Flags()
	fl.StringArrayVarP(&hosts, "host", "H", []string{apiserver.DefaultHost}, "address to serve on: unix://PATH or tcp://HOST:PORT (beyond loopback only with TLS); repeatable")
	fl.BoolVarP(&debug, "debug", "D", false, "log every request, and every error answered, to stderr")
	fl.BoolVar(&t.Verify, "tlsverify", false, "use TLS and require clients' certificates signed by --tlscacert")
	fl.StringVar(&t.CACert, "tlscacert", "", "CA certificate that signs the clients' certificates")
	fl.StringVar(&t.Cert, "tlscert", "", "the server's TLS certificate (TLS without client verification when given alone with --tlskey)")
	fl.StringVar(&t.Key, "tlskey", "", "the server's TLS key")
	a.policyFlag(c)
	return c
}
