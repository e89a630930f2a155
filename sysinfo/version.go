package sysinfo

import (
	"runtime"
	"runtime/debug"
	"time"

	"github.com/moby/moby/api/types/system"
	"golang.org/x/sys/unix"
)

// The Engine API versions lade speaks: from the oldest docker clients
// still in use to the newest its types (moby/moby/api) describe.
const (
	MinAPIVersion = "1.41"
	APIVersion    = "1.57"
)

// Set with -ldflags "-X github.com/lade-build/lade/sysinfo.version=...".
var version, commit, buildTime string

// Build returns lade's version, commit and build time: the -ldflags
// values, else what Go recorded (module version, vcs.revision, vcs.time).
func Build() (ver, rev, built string) {
	ver, rev, built = version, commit, buildTime
	if bi, ok := debug.ReadBuildInfo(); ok {
		if ver == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			ver = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && rev == "":
				rev = s.Value
			case s.Key == "vcs.time" && built == "":
				built = s.Value
			}
		}
	}
	if ver == "" {
		ver = "dev"
	}
	if rev == "" {
		rev = "unknown"
	} else if len(rev) > 12 {
		rev = rev[:12]
	}
	return ver, rev, built
}

// Client is the client half of `version`, with docker's field names.
type Client struct {
	Platform          struct{ Name string } `json:",omitempty"`
	Version           string
	APIVersion        string `json:"ApiVersion"`
	DefaultAPIVersion string `json:"DefaultAPIVersion,omitempty"`
	GitCommit         string
	GoVersion         string
	Os                string
	Arch              string
	BuildTime         string `json:",omitempty"`
	Context           string
}

// Versions is what `version` prints and --format sees: .Client and
// .Server, as in docker.
type Versions struct {
	Client Client
	Server *system.VersionResponse
}

// Version fills both halves; the server is this same binary.
func Version() Versions {
	kernel := Kernel()
	ver, rev, built := Build()
	c := Client{Version: ver, APIVersion: APIVersion, DefaultAPIVersion: APIVersion, GitCommit: rev,
		GoVersion: runtime.Version(), Os: runtime.GOOS, Arch: runtime.GOARCH, BuildTime: builtText(built), Context: "default"}
	c.Platform.Name = "lade"
	s := &system.VersionResponse{
		Platform:   system.PlatformInfo{Name: "lade (daemonless: the client is the engine)"},
		Version:    ver,
		APIVersion: APIVersion, MinAPIVersion: MinAPIVersion,
		Os: runtime.GOOS, Arch: runtime.GOARCH,
		GitCommit: rev, GoVersion: runtime.Version(), KernelVersion: kernel, BuildTime: builtText(built),
		Components: []system.ComponentVersion{{Name: "Engine", Version: ver, Details: map[string]string{
			"ApiVersion": APIVersion, "MinAPIVersion": MinAPIVersion, "GitCommit": rev,
			"GoVersion": runtime.Version(), "Os": runtime.GOOS, "Arch": runtime.GOARCH,
			"KernelVersion": kernel, "BuildTime": builtText(built), "Experimental": "false",
		}}},
	}
	return Versions{Client: c, Server: s}
}

// builtText shows an RFC 3339 build time as docker does.
func builtText(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.Format(time.ANSIC)
}

// Kernel is the running kernel's release.
func Kernel() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}
