package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/lade-build/lade/engine"
	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/progress"
)

func init() {
	commands = append(commands,
		(*app).pullCmd, (*app).pushCmd, (*app).tagCmd, (*app).rmiCmd,
		(*app).saveCmd, (*app).loadCmd, (*app).loginCmd, (*app).logoutCmd)
}

func (a *app) pullCmd() *cobra.Command {
	var platform string
	var quiet, all bool
	c := command("pull [OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry", cobra.ExactArgs(1), a.withStores(func(ctx context.Context, args []string) error {
		opts := images.PullOptions{Insecure: a.insecure, Progress: a.stderr}
		if quiet {
			opts.Progress = nil
		}
		if platform != "" {
			p, err := images.ParsePlatform(platform)
			if err != nil {
				return fmt.Errorf("--platform: %w", err)
			}
			opts.Platform = p
		}
		if !all {
			return a.pull(ctx, args[0], opts, quiet, true)
		}
		if err := images.AllTagsRepository(args[0]); err != nil {
			return err
		}
		tags, err := a.images.RemoteTags(ctx, args[0], a.insecure)
		if err != nil {
			return err
		}
		for _, t := range tags {
			if err := a.pull(ctx, args[0]+":"+t, opts, quiet, false); err != nil {
				return err
			}
		}
		full, err := images.CanonicalName(args[0])
		if err == nil {
			fmt.Fprintln(a.stdout, full)
		}
		return err
	}))
	c.Flags().StringVar(&platform, "platform", "", "platform os/arch[/variant] to pull from a multi-platform image; only its blobs are fetched (default: the host's)")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the image reference")
	c.Flags().BoolVarP(&all, "all-tags", "a", false, "pull every tag of the repository NAME")
	a.policyFlag(c)
	return c
}

// pull pulls ref, unpacks and tags it, and prints docker's status lines
// (unless quiet) and, when last, the full reference.
func (a *app) pull(ctx context.Context, ref string, opts images.PullOptions, quiet, last bool) error {
	var err error
	if opts.Verify, err = a.signatureCheck(ref); err != nil {
		return err
	}
	r, err := images.ParseReference(ref)
	if err != nil {
		return err
	}
	pulled, err := engine.Pull(ctx, a.images, a.snapshots, ref, opts)
	if err != nil {
		return err
	}
	if !quiet {
		fmt.Fprintf(a.stdout, "Digest: %s\n", pulled.Digest)
		if pulled.UpToDate {
			fmt.Fprintf(a.stdout, "Status: Image is up to date for %s\n", ref)
		} else {
			fmt.Fprintf(a.stdout, "Status: Downloaded newer image for %s\n", ref)
		}
	}
	if last {
		fmt.Fprintln(a.stdout, canonicalRef(r))
	}
	return nil
}

// canonicalRef spells ref as docker prints it after a pull.
func canonicalRef(ref name.Reference) string {
	reg := ref.Context().RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	s := reg + "/" + ref.Context().RepositoryStr()
	if t, ok := ref.(name.Tag); ok {
		return s + ":" + t.TagStr()
	}
	return s + "@" + ref.Identifier()
}

func (a *app) pushCmd() *cobra.Command {
	var quiet, sign, all bool
	var key string
	c := command("push [OPTIONS] NAME[:TAG]", "Upload an image to a registry", cobra.ExactArgs(1), func(ctx context.Context, args []string) error {
		if sign != (key != "") {
			return statusError{125, errors.New("--sign and --key go together")}
		}
		refs, err := a.pushRefs(args[0], all)
		if err != nil {
			return err
		}
		var prog, summary io.Writer = a.stderr, a.stdout
		if quiet {
			prog, summary = nil, io.Discard
		}
		for _, ref := range refs {
			if err := a.pushSigned(ctx, ref, prog, summary, key); err != nil {
				return err
			}
		}
		if quiet {
			fmt.Fprintln(a.stdout, pushedName(args[0], all))
		}
		return nil
	})
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "suppress progress output; print only the pushed reference")
	c.Flags().BoolVarP(&all, "all-tags", "a", false, "push every stored tag of the repository NAME")
	c.Flags().BoolVar(&sign, "sign", false, "sign the pushed image with --key, as lade sign does")
	c.Flags().StringVar(&key, "key", "", "private key for --sign")
	return c
}

// pushRefs are the names push uploads: ref, or with all every stored tag
// of the repository ref names.
func (a *app) pushRefs(ref string, all bool) ([]string, error) {
	if !all {
		_, err := images.ParseTag(ref)
		return []string{ref}, err
	}
	if err := images.AllTagsRepository(ref); err != nil {
		return nil, err
	}
	if err := a.open(); err != nil {
		return nil, err
	}
	tags, err := a.images.Tags(ref)
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, fmt.Errorf("An image does not exist locally with the tag: %s", ref)
	}
	refs := make([]string, len(tags))
	for i, t := range tags {
		refs[i] = ref + ":" + t
	}
	return refs, nil
}

// pushedName is what push -q prints, as docker: the full name of the tag
// pushed, or of the repository with -a. ref has been checked.
func pushedName(ref string, all bool) string {
	if all {
		full, _ := images.CanonicalName(ref)
		return full
	}
	t, _ := images.ParseTag(ref)
	return canonicalRef(t)
}

// pushSigned pushes the stored ref and, with key, signs what it pushed.
func (a *app) pushSigned(ctx context.Context, ref string, prog, summary io.Writer, key string) error {
	img, idx, err := a.imageOrIndex(ctx, ref)
	if err != nil {
		return err
	}
	d, err := a.push(ctx, ref, img, idx, prog, summary)
	if err != nil || key == "" {
		return err
	}
	t, err := images.ParseTag(ref)
	if err != nil {
		return err
	}
	return a.sign(ctx, ref, t.Context(), d, key)
}

// push uploads img, or the multi-platform image idx with all its images
// when idx is set, as ref, prints docker's summary line and returns the
// pushed manifest's digest.
func (a *app) push(ctx context.Context, ref string, img v1.Image, idx v1.ImageIndex, prog, summary io.Writer) (v1.Hash, error) {
	t, err := images.ParseTag(ref)
	if err != nil {
		return v1.Hash{}, err
	}
	o := images.PushOptions{Insecure: a.insecure, Progress: prog}
	var d v1.Hash
	var raw []byte
	if idx != nil {
		if d, err = a.images.PushIndex(ctx, ref, idx, o); err == nil {
			raw, err = idx.RawManifest()
		}
	} else if d, err = a.images.Push(ctx, ref, img, o); err == nil {
		raw, err = img.RawManifest()
	}
	if err != nil {
		return v1.Hash{}, err
	}
	fmt.Fprintf(summary, "%s: digest: %s size: %d\n", t.TagStr(), d, len(raw))
	return d, nil
}

func (a *app) tagCmd() *cobra.Command {
	return command("tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", cobra.ExactArgs(2),
		func(ctx context.Context, args []string) error {
			if err := a.open(); err != nil {
				return err
			}
			return engine.Tag(ctx, a.images, args[0], args[1])
		})
}

func (a *app) rmiCmd() *cobra.Command {
	var force, noPrune bool
	c := command("rmi [OPTIONS] IMAGE [IMAGE...]", "Remove one or more images", cobra.MinimumNArgs(1), a.withStores(func(ctx context.Context, args []string) error {
		var failed []string
		for _, ref := range args {
			if err := a.rmi(ctx, ref, force); err != nil {
				printError(a.stderr, "rmi", err)
				failed = append(failed, ref)
			}
		}
		if len(failed) > 0 {
			return exitError{1}
		}
		return nil
	}))
	c.Flags().BoolVarP(&force, "force", "f", false, "remove an image ID that several names or a stopped container use, or the last name of an image a container uses")
	// Docker's untagged parents are the images of a classic build's
	// steps; lade's steps are build cache entries, never images, so
	// there is nothing to prune and the flag changes nothing.
	c.Flags().BoolVar(&noPrune, "no-prune", false, "do not delete untagged parents (accepted: lade images have no parent images)")
	return c
}

func (a *app) rmi(ctx context.Context, ref string, force bool) error {
	cs, err := a.containers()
	if err != nil {
		return err
	}
	removed, err := engine.RemoveImage(ctx, a.images, cs, ref, force)
	if err != nil {
		return err
	}
	for _, n := range removed.Untagged {
		fmt.Fprintf(a.stdout, "Untagged: %s\n", n)
	}
	if removed.Deleted.Hex != "" {
		fmt.Fprintf(a.stdout, "Deleted: %s\n", removed.Deleted)
	}
	return nil
}

func (a *app) saveCmd() *cobra.Command {
	var output, platform string
	c := command("save [OPTIONS] IMAGE [IMAGE...]", "Save one or more images to a tar archive (streamed to STDOUT by default)", cobra.MinimumNArgs(1),
		a.withStores(func(ctx context.Context, args []string) error {
			plat, err := platformFlag(platform)
			if err != nil {
				return err
			}
			if output == "" || output == "-" {
				if f, ok := a.stdout.(*os.File); ok && isTerminal(f) {
					return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
				}
				return a.images.Save(ctx, a.stdout, args, plat)
			}
			return writeArchive(output, func(w io.Writer) error {
				return a.images.Save(ctx, w, args, plat)
			})
		}))
	c.Flags().StringVarP(&output, "output", "o", "", "write to a file, instead of STDOUT")
	c.Flags().StringVar(&platform, "platform", "", "save this platform's image of a multi-platform image, as a docker archive (default: one multi-platform image is saved whole as an OCI archive)")
	return c
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (a *app) loadCmd() *cobra.Command {
	var input string
	var quiet bool
	c := command("load [OPTIONS]", "Load images from a docker or OCI archive (plain, gzip or zstd) or STDIN", cobra.NoArgs, a.withStores(func(ctx context.Context, _ []string) error {
		r := a.stdin
		if input != "" && input != "-" {
			f, err := os.Open(input)
			if err != nil {
				return err
			}
			defer f.Close()
			r = f
		}
		loaded, err := a.images.Load(ctx, r)
		if err != nil {
			return err
		}
		// -q only silences progress, as docker's: the names still print.
		for _, l := range loaded {
			if len(l.Names) == 0 {
				fmt.Fprintf(a.stdout, "Loaded image ID: %s\n", l.ID)
			}
			for _, n := range l.Names {
				fmt.Fprintf(a.stdout, "Loaded image: %s\n", n)
			}
		}
		return nil
	}))
	c.Flags().StringVarP(&input, "input", "i", "", "read from a tar archive file, instead of STDIN")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "suppress progress output (lade's load shows none; the loaded names still print, as docker's)")
	return c
}

// optionalArg is a command's one optional argument, "" without it.
func optionalArg(args []string) string {
	if len(args) == 1 {
		return args[0]
	}
	return ""
}

func (a *app) loginCmd() *cobra.Command {
	var user, pass string
	var passStdin bool
	c := command("login [OPTIONS] [SERVER]", "Log in to a registry (stores credentials as docker does: through config.json's credential helper, else in config.json)", cobra.MaximumNArgs(1),
		func(ctx context.Context, args []string) error {
			if pass != "" {
				fmt.Fprintln(a.stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
			}
			if passStdin {
				if pass != "" {
					return errors.New("--password and --password-stdin are mutually exclusive")
				}
				if user == "" {
					return errors.New("must provide --username with --password-stdin")
				}
				b, err := io.ReadAll(io.LimitReader(a.stdin, 1<<20))
				if err != nil {
					return err
				}
				pass = strings.TrimRight(string(b), "\r\n")
			}
			if user == "" || pass == "" {
				return errors.New("username and password are required (-u and -p or --password-stdin); lade does not prompt")
			}
			res, err := images.Login(ctx, optionalArg(args), user, pass, a.insecure)
			if err != nil {
				return err
			}
			if res.Plaintext != "" {
				fmt.Fprintf(a.stderr, "WARNING! Your credentials are stored unencrypted in '%s'.\nConfigure a credential helper to remove this warning.\n", res.Plaintext)
			}
			fmt.Fprintln(a.stdout, "Login Succeeded")
			return nil
		})
	c.Flags().StringVarP(&user, "username", "u", "", "username")
	c.Flags().StringVarP(&pass, "password", "p", "", "password")
	c.Flags().BoolVar(&passStdin, "password-stdin", false, "take the password from stdin")
	return c
}

func (a *app) logoutCmd() *cobra.Command {
	return command("logout [SERVER]", "Log out from a registry (erases the credentials where login stored them)", cobra.MaximumNArgs(1), func(_ context.Context, args []string) error {
		reg, errs, err := images.Logout(optionalArg(args), a.insecure)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "Removing login credentials for %s\n", reg)
		if len(errs) > 0 {
			fmt.Fprintln(a.stderr, "WARNING: could not erase credentials:")
			for _, e := range errs {
				fmt.Fprintln(a.stderr, e)
			}
		}
		return nil
	})
}

// exportPush is build's type=registry output: tag img locally under each
// name, then push it there.
func (a *app) exportPush(ctx context.Context, img v1.Image, names []string, prog *progress.Printer) error {
	return pushNames(names, prog, func(n string, w io.Writer) error {
		if err := a.images.Tag(ctx, n, img); err != nil {
			return err
		}
		_, err := a.push(ctx, n, img, nil, w, w)
		return err
	})
}

// exportPushIndex is the same for a multi-platform build's index.
func (a *app) exportPushIndex(ctx context.Context, idx v1.ImageIndex, names []string, prog *progress.Printer) error {
	return pushNames(names, prog, func(n string, w io.Writer) error {
		if err := a.images.TagIndex(ctx, n, idx); err != nil {
			return err
		}
		_, err := a.push(ctx, n, nil, idx, w, w)
		return err
	})
}

// pushNames tags and pushes (push) under each name, showing its progress.
func pushNames(names []string, prog *progress.Printer, push func(name string, w io.Writer) error) error {
	if len(names) == 0 {
		return errors.New("pushing needs a name: use -t NAME or name=NAME")
	}
	for _, n := range names {
		if err := push(n, prog.Writer()); err != nil {
			return err
		}
	}
	return nil
}
