package container

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/lade-build/lade/fileop"
)

// finishConfig does what needs the container's rootfs: user lookup,
// environment, working directory, volumes; then saves the config.
func (s *Store) finishConfig(c *Config, ic *dockerspec.DockerOCIImage, o *CreateOptions) error {
	if o.Hostname == "" && c.UTSMode != "host" {
		c.Hostname = c.ID[:12]
	}
	if err := s.MountRootfs(c); err != nil {
		return err
	}
	rootfs := s.Rootfs(c.ID)
	home, err := resolveUser(c, rootfs, ic.Config.User, o)
	if err != nil {
		return err
	}
	if err := setEnv(c, home, o); err != nil {
		return err
	}
	if err := makeWorkdir(c, rootfs, ic.Config.WorkingDir, o.Workdir); err != nil {
		return err
	}
	if err := s.containerMounts(c, ic, o, rootfs); err != nil {
		return err
	}
	return s.SaveConfig(c)
}

// resolveUser sets c's user from the options or the image, looked up in
// the rootfs, and returns the user's home.
func resolveUser(c *Config, rootfs, imageUser string, o *CreateOptions) (string, error) {
	userSpec := imageUser
	if o.User != "" {
		userSpec = o.User
	}
	if userSpec == "" {
		userSpec = "0"
	}
	user, err := fileop.ContainerUser(rootfs, userSpec, o.GroupAdd)
	if err != nil {
		return "", err
	}
	c.User, c.UID, c.GID, c.AdditionalGIDs = userSpec, user.UID, user.GID, user.AdditionalGIDs
	c.GroupAdd = o.GroupAdd
	return user.Home, nil
}

// setEnv lays --env-file and -e over the image's environment and adds
// docker's defaults: PATH, HOSTNAME, TERM with a tty, HOME.
func setEnv(c *Config, home string, o *CreateOptions) error {
	env, err := ParseEnv(o.EnvFiles, o.Env)
	if err != nil {
		return err
	}
	for _, kv := range env {
		c.Env = SetEnv(c.Env, kv)
	}
	if !hasKey(c.Env, "PATH") {
		c.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, c.Env...)
	}
	if !hasKey(c.Env, "HOSTNAME") {
		c.Env = append(c.Env, "HOSTNAME="+c.Hostname)
	}
	if c.Tty {
		c.Env = DefaultTerm(c.Env)
	}
	if !hasKey(c.Env, "HOME") {
		c.Env = append(c.Env, "HOME="+home)
	}
	return nil
}

// makeWorkdir sets c's working directory (the option's, the image's, or
// /) and creates it in the rootfs.
func makeWorkdir(c *Config, rootfs, imageDir, dir string) error {
	c.Cwd = imageDir
	if dir != "" {
		c.Cwd = dir
	}
	if c.Cwd == "" {
		c.Cwd = "/"
	}
	if !filepath.IsAbs(c.Cwd) {
		return fmt.Errorf("the working directory %q is invalid: it needs to be an absolute path", c.Cwd)
	}
	cwdPath, err := securejoin.SecureJoin(rootfs, c.Cwd)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cwdPath, 0o755); err != nil {
		return fmt.Errorf("creating working directory: %w", err)
	}
	return nil
}

func hasKey(env []string, k string) bool {
	for _, kv := range env {
		if key, _, _ := strings.Cut(kv, "="); key == k {
			return true
		}
	}
	return false
}
