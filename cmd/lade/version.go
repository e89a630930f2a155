package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/docker/cli/templates"
	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/system"
	"github.com/spf13/cobra"

	"github.com/lade-build/lade/sysinfo"
)

func init() {
	commands = append(commands, (*app).versionCmd, (*app).infoCmd)
}

// setVersion gives the root --version and -v, printing
// "lade version X, build COMMIT" as docker does.
func setVersion(root *cobra.Command) {
	ver, rev, _ := sysinfo.Build()
	root.Version = ver + ", build " + rev
	root.SetVersionTemplate("lade version {{.Version}}\n")
	root.Flags().BoolP("version", "v", false, "print version information and quit")
}

func (a *app) versionCmd() *cobra.Command {
	var format string
	c := command("version [OPTIONS]", "Show the lade version information", cobra.NoArgs, func(context.Context, []string) error {
		v := sysinfo.Version()
		if format != "" {
			return printFormat(a.stdout, format, v)
		}
		return printVersion(a.stdout, v)
	})
	c.Flags().StringVarP(&format, "format", "f", "", "format the output with a Go template (.Client, .Server), or json")
	return c
}

// printFormat executes a docker --format template (or "json") on v.
func printFormat(w io.Writer, format string, v any) error {
	if format == "json" {
		format = "{{json .}}"
	}
	tmpl, err := templates.Parse(format)
	if err != nil {
		return statusError{125, fmt.Errorf("template parsing error: %w", err)}
	}
	if err := tmpl.Execute(w, v); err != nil {
		return err
	}
	_, err = fmt.Fprintln(w)
	return err
}

// printVersion prints docker's two blocks; lade's server is itself.
func printVersion(w io.Writer, v sysinfo.Versions) error {
	c, s := v.Client, v.Server
	rows := func(indent string, kv ...string) {
		for i := 0; i < len(kv); i += 2 {
			fmt.Fprintf(w, "%s%-*s%s\n", indent, 19-len(indent), kv[i]+":", kv[i+1])
		}
	}
	fmt.Fprintln(w, "Client:")
	rows(" ", "Version", c.Version, "API version", c.APIVersion, "Go version", c.GoVersion, "Git commit", c.GitCommit,
		"Built", c.BuildTime, "OS/Arch", c.Os+"/"+c.Arch, "Context", c.Context)
	fmt.Fprintf(w, "\nServer: %s\n Engine:\n", s.Platform.Name)
	rows("  ", "Version", s.Version, "API version", s.APIVersion+" (minimum version "+s.MinAPIVersion+")",
		"Go version", s.GoVersion, "Git commit", s.GitCommit, "Built", s.BuildTime, "OS/Arch", s.Os+"/"+s.Arch, "Experimental", "false")
	return nil
}

func (a *app) infoCmd() *cobra.Command {
	var format string
	c := command("info [OPTIONS]", "Display system-wide information", cobra.NoArgs, a.withStores(func(ctx context.Context, _ []string) error {
		cs, err := a.containers()
		if err != nil {
			return err
		}
		info, err := sysinfo.Collect(ctx, sysinfo.Stores{Root: a.root, Containers: cs, Images: a.images, Snapshots: a.snapshots})
		if err != nil {
			return err
		}
		ver, _, _ := sysinfo.Build()
		out := infoOut{Info: &info, ClientInfo: clientInfo{Version: ver, Context: "default"}}
		if format != "" {
			return printFormat(a.stdout, format, out)
		}
		return printInfo(a.stdout, out)
	}))
	c.Flags().StringVarP(&format, "format", "f", "", "format the output with a Go template (fields of docker's Info), or json")
	return c
}

// infoOut is what info --format sees: docker's Info, plus .ClientInfo.
type infoOut struct {
	*system.Info
	ClientInfo clientInfo
}

type clientInfo struct {
	Version string
	Context string
	Debug   bool
}

func printInfo(w io.Writer, o infoOut) error {
	i := o.Info
	fmt.Fprintf(w, "Client:\n Version:    %s\n Context:    %s\n Debug Mode: false\n\nServer:\n", o.ClientInfo.Version, o.ClientInfo.Context)
	fmt.Fprintf(w, " Containers: %d\n  Running: %d\n  Paused: %d\n  Stopped: %d\n Images: %d\n",
		i.Containers, i.ContainersRunning, i.ContainersPaused, i.ContainersStopped, i.Images)
	fmt.Fprintf(w, " Server Version: %s\n Storage Driver: %s\n Logging Driver: %s\n Cgroup Driver: %s\n Cgroup Version: %s\n",
		i.ServerVersion, i.Driver, i.LoggingDriver, i.CgroupDriver, i.CgroupVersion)
	fmt.Fprintf(w, " Runtimes: lade\n Default Runtime: %s\n Security Options:\n", i.DefaultRuntime)
	for _, opt := range i.SecurityOptions {
		name, rest, _ := strings.Cut(strings.TrimPrefix(opt, "name="), ",")
		fmt.Fprintf(w, "  %s\n", name)
		if p, ok := strings.CutPrefix(rest, "profile="); ok {
			fmt.Fprintf(w, "   Profile: %s\n", p)
		}
	}
	fmt.Fprintf(w, " Kernel Version: %s\n Operating System: %s\n OSType: %s\n Architecture: %s\n CPUs: %d\n Total Memory: %s\n Name: %s\n Docker Root Dir: %s\n Debug Mode: false\n",
		i.KernelVersion, i.OperatingSystem, i.OSType, i.Architecture, i.NCPU, units.BytesSize(float64(i.MemTotal)), i.Name, i.DockerRootDir)
	return nil
}
