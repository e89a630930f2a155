package main

import (
	"context"
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lade-build/lade/dockercp"
)

func init() { commands = append(commands, (*app).cpCmd) }

func (a *app) cpCmd() *cobra.Command {
	var o dockercp.Options
	var quiet bool
	c := command("cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n  lade cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
		"Copy files/folders between a container and the local filesystem", cobra.ExactArgs(2),
		func(ctx context.Context, args []string) error {
			srcCtr, srcPath := splitCpArg(args[0])
			dstCtr, dstPath := splitCpArg(args[1])
			switch {
			case srcCtr != "" && dstCtr != "":
				return statusError{1, errors.New("copying between containers is not supported")}
			case srcCtr == "" && dstCtr == "":
				return statusError{1, errors.New("must specify at least one container source")}
			case srcCtr != "":
				return a.inContainerFS(srcCtr, srcPath, func(src dockercp.Endpoint) error {
					if dstPath == "-" {
						return dockercp.WriteTar(ctx, src, o, a.stdout)
					}
					return dockercp.Copy(ctx, src, dockercp.Endpoint{Path: dstPath}, o)
				})
			}
			return a.inContainerFS(dstCtr, dstPath, func(dst dockercp.Endpoint) error {
				if srcPath == "-" {
					return dockercp.ExtractTar(ctx, a.stdin, dst, o)
				}
				return dockercp.Copy(ctx, dockercp.Endpoint{Path: srcPath}, dst, o)
			})
		})
	c.Long = `Copy files/folders between a container and the local filesystem.

Use '-' as the source to read a tar archive from stdin and extract it to a
directory destination in a container. Use '-' as the destination to stream
a tar archive of a container source to stdout. A SRC_PATH ending in "/."
copies the directory's contents; a DEST_PATH ending in "/" must be an
existing directory. Paths in the container resolve inside its root
filesystem, running or stopped.`
	c.Example = `  lade cp web:/etc/nginx/nginx.conf ./nginx.conf
  lade cp ./site/. web:/usr/share/nginx/html
  lade cp web:/var/log - | tar -t`
	c.Flags().BoolVarP(&o.Archive, "archive", "a", false, "archive mode (copy all uid/gid information)")
	c.Flags().BoolVarP(&o.FollowLink, "follow-link", "L", false, "always follow symbol link in SRC_PATH")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "suppress progress output during copy (lade prints none)")
	return c
}

// splitCpArg splits docker cp's CONTAINER:PATH; a path that is absolute
// or starts with "." is local even if it holds a colon.
func splitCpArg(arg string) (ctr, p string) {
	if strings.HasPrefix(arg, "/") || strings.HasPrefix(arg, ".") {
		return "", arg
	}
	ctr, p, ok := strings.Cut(arg, ":")
	if !ok {
		return "", arg
	}
	return ctr, p
}

// inContainerFS runs fn with p in container ref's root filesystem,
// mounted for the while if the container is stopped.
func (a *app) inContainerFS(ref, p string, fn func(dockercp.Endpoint) error) error {
	store, c, err := a.container(ref)
	if err != nil {
		return err
	}
	return dockercp.InContainer(store, c, ref, p, fn)
}
