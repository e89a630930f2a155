package hardening

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// buildCase is a hostile Dockerfile, context or RUN step. want is the
// error lade must give; "" means the build succeeds with all effects
// confined (check then runs extra assertions).
type buildCase struct {
	name  string
	files map[string]string
	setup func(t *testing.T, ctx, s string) // extra context entries
	args  []string
	want  string
	check func(t *testing.T, root string, r result)
}

func argBlowup(levels int) string {
	var b strings.Builder
	b.WriteString("FROM busybox\nARG A0=xxxxxxxxxxxxxxxx\n")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "ARG A%d=${A%d}${A%d}\n", i, i-1, i-1)
	}
	fmt.Fprintf(&b, "RUN echo ${A%d} | wc -c\n", levels)
	return b.String()
}

var dockerfileCases = []buildCase{
	{name: "unterminated-heredoc", want: "unterminated heredoc", files: map[string]string{"Dockerfile": "FROM busybox\nRUN <<EOF\necho hi > /hi\n"}},
	{name: "one-mib-line", want: "greater than max allowed size", files: map[string]string{"Dockerfile": "FROM busybox\nRUN true " + strings.Repeat("a", 1<<20) + "\n"}},
	{name: "empty-dockerfile", want: "file with no instructions", files: map[string]string{"Dockerfile": ""}},
	{name: "unknown-instruction", want: "unknown instruction", files: map[string]string{"Dockerfile": "FROM busybox\nFROBNICATE /x\n"}},
	{name: "arg-doubling", want: "expanded value too long", files: map[string]string{"Dockerfile": argBlowup(40)}},
	{name: "env-doubling", want: "expanded value too long", files: map[string]string{"Dockerfile": strings.ReplaceAll(argBlowup(40), "ARG", "ENV")}},
	{name: "global-arg-doubling", want: "expanded value too long", files: map[string]string{"Dockerfile": strings.Replace(strings.Replace(argBlowup(40), "FROM busybox\n", "", 1), "RUN echo", "FROM busybox\nRUN echo", 1)}},
	{name: "cyclic-copy-from", want: "needs to be defined before", files: map[string]string{"Dockerfile": "FROM busybox AS a\nCOPY --from=b /x /x\nFROM busybox AS b\nCOPY --from=a /y /y\n"}},
	{name: "self-copy-from", want: "needs to be defined before", files: map[string]string{"Dockerfile": "FROM busybox AS a\nCOPY --from=a /etc/passwd /p\n"}},
	{name: "forward-index-from", want: "", files: map[string]string{"Dockerfile": "FROM busybox\nCOPY --from=1 /etc/passwd /p\nFROM busybox\n"}},
	{name: "duplicate-stage", want: "duplicate", files: map[string]string{"Dockerfile": "FROM busybox AS a\nFROM busybox AS a\n"}},
	{name: "stage-named-like-image", want: "invalid", files: map[string]string{"Dockerfile": "FROM busybox AS alpine:3\nRUN true\n"}},
	{name: "from-image-shadowed-by-stage", files: map[string]string{"Dockerfile": "FROM busybox AS busybox\nRUN echo stage > /which\nFROM busybox:latest\nCOPY --from=busybox:latest /etc/group /g\nRUN test ! -e /which && test -s /g\n"}},
	{name: "workdir-proc-self-fd", want: "chdir /proc/self/fd/3: no such file", files: map[string]string{"Dockerfile": "FROM busybox\nWORKDIR /proc/self/fd/3\nRUN pwd\n"}},
	{name: "workdir-dotdot", files: map[string]string{"Dockerfile": "FROM busybox\nWORKDIR ../../../../../../tmp/lade-hardening-pwned\nRUN touch x\n"}},
}

var contextCases = []buildCase{
	{name: "symlink-file-out-of-context", want: "not found", setup: func(t *testing.T, ctx, s string) {
		os.Symlink(s+"/secret", filepath.Join(ctx, "link"))
	}, files: map[string]string{"Dockerfile": "FROM busybox\nCOPY link /link\nRUN test -L /link && test \"$(readlink /link)\" != '' && ! grep -q 'host secret' /link\n"}},
	{name: "symlink-dir-out-of-context", setup: func(t *testing.T, ctx, s string) {
		os.Symlink(s, filepath.Join(ctx, "d"))
	}, files: map[string]string{"Dockerfile": "FROM busybox\nCOPY . /c/\nRUN test -L /c/d && ! test -e /c/d/secret\n"}},
	{name: "copy-through-escaping-link", want: "lstat /up: no such file or directory", setup: func(t *testing.T, ctx, s string) {
		os.Symlink("../../../../../../../"+s, filepath.Join(ctx, "up"))
	}, files: map[string]string{"Dockerfile": "FROM busybox\nCOPY up/secre[t] /x/\nRUN ! test -e /x/secret\n"}},
	{name: "copy-dotdot-source", want: "", files: map[string]string{"Dockerfile": "FROM busybox\nCOPY ../../../../etc/passwd /p\nRUN grep -qx 'ctx passwd' /p\n", "etc/passwd": "ctx passwd\n"}},
	{name: "dockerignore-negate-dotdot", files: map[string]string{"Dockerfile": "FROM busybox\nCOPY . /c/\nRUN test -e /c/keep\n", ".dockerignore": "*\n!../x\n!../../sentinel\n!keep\n!Dockerfile\n", "keep": "k"}},
	{name: "dockerignore-dotdot-patterns", files: map[string]string{"Dockerfile": "FROM busybox\nCOPY . /c/\nRUN ! test -e /c/a/secret && test -e /c/b\n", ".dockerignore": "../*\na/../a/secret\n/../../*/x\n", "a/secret": "s", "b": "b"}},
	{name: "add-tar-with-escapes", want: "path escapes the destination", setup: func(t *testing.T, ctx, s string) {
		evil := layerTar(t, file(dotdots(s)+"/pwned", "x"))
		os.WriteFile(filepath.Join(ctx, "evil.tar"), evil, 0o644)
	}, files: map[string]string{"Dockerfile": "FROM busybox\nADD evil.tar /x/\n"}},
	{name: "add-tar-symlink-then-file", setup: func(t *testing.T, ctx, s string) {
		evil := layerTar(t, symlink("esc", s), file("esc/pwned", "x"), symlink("abs", "/"), file("abs/lade-hardening-pwned", "x"))
		os.WriteFile(filepath.Join(ctx, "evil.tar"), evil, 0o644)
	}, files: map[string]string{"Dockerfile": "FROM busybox\nADD evil.tar /x/\nRUN test -L /x/esc\n"}},
	{name: "add-tar-hardlink-out", want: "hardlink target", setup: func(t *testing.T, ctx, s string) {
		evil := layerTar(t, ent{name: "h", link: s + "/secret", typ: tar.TypeLink}, ent{name: "h2", link: "../../" + s + "/secret", typ: tar.TypeLink})
		os.WriteFile(filepath.Join(ctx, "evil.tar"), evil, 0o644)
	}, files: map[string]string{"Dockerfile": "FROM busybox\nADD evil.tar /x/\n"}},
}

var mountCases = []buildCase{
	{name: "cache-id-dotdot", files: map[string]string{"Dockerfile": "FROM busybox\nRUN --mount=type=cache,id=../../../../tmp/lade-hardening-pwned,target=/c touch /c/f\n"},
		check: func(t *testing.T, root string, r result) {
			if _, err := os.Stat(filepath.Join(root, "cachemounts")); err != nil {
				t.Errorf("cache mount not under the root: %v", err)
			}
		}},
	{name: "cache-target-dotdot", files: map[string]string{"Dockerfile": "FROM busybox\nRUN --mount=type=cache,target=../../../c touch /c/f\n"}},
	{name: "secret-id-dotdot", args: []string{"--secret", "id=../../x,src=SECRETFILE"}, files: map[string]string{"Dockerfile": "FROM busybox\nRUN --mount=type=secret,id=../../x,required=true cat /run/secrets/../../x >/dev/null || true\n"}},
	{name: "bind-from-stage-link-to-root", files: map[string]string{"Dockerfile": "FROM busybox AS a\nRUN ln -s / /l && echo stage > /marker\nFROM busybox\nRUN --mount=type=bind,from=a,source=l,target=/m test -e /m/marker && ! test -e /m/SENTINEL\n"}},
	{name: "bind-context-link-out", want: "not found", setup: func(t *testing.T, ctx, s string) {
		os.Symlink(s, filepath.Join(ctx, "out"))
	}, files: map[string]string{"Dockerfile": "FROM busybox\nRUN --mount=type=bind,source=out,target=/m ! test -e /m/secret\n"}},
	{name: "bind-rw-write-through-link", setup: func(t *testing.T, ctx, s string) {
		os.Symlink(s, filepath.Join(ctx, "out"))
	}, files: map[string]string{"Dockerfile": "FROM busybox\nRUN --mount=type=bind,target=/m,rw echo x > /m/out/pwned || true\n"}},
	{name: "background-process", files: map[string]string{"Dockerfile": "FROM busybox\nRUN (sleep 2; echo late > /late) & true\nRUN sh -c 'sleep 30' lade-hardening-bg >/dev/null 2>&1 & true\nRUN sleep 3; test ! -e /late\n"},
		check: func(t *testing.T, root string, r result) {
			ents, _ := os.ReadDir("/proc")
			for _, e := range ents {
				b, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
				if bytes.Contains(b, []byte("lade-hardening-bg")) {
					t.Errorf("process %s survived the build: %q", e.Name(), b)
				}
			}
		}},
}

func TestHostileDockerfiles(t *testing.T) { runBuildCases(t, dockerfileCases) }
func TestHostileContexts(t *testing.T)    { runBuildCases(t, contextCases) }
func TestRunMountAbuse(t *testing.T)      { runBuildCases(t, mountCases) }

func runBuildCases(t *testing.T, cases []buildCase) {
	needLade(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := sentinel(t)
			files := map[string]string{}
			for k, v := range c.files {
				files[k] = strings.ReplaceAll(v, "SENTINEL", strings.TrimPrefix(s, "/"))
			}
			ctx := writeTree(t, files)
			if c.setup != nil {
				c.setup(t, ctx, s)
			}
			secret := writeTemp(t, "secret", []byte("s3cret"))
			var args []string
			for _, a := range c.args {
				args = append(args, strings.ReplaceAll(a, "SECRETFILE", secret))
			}
			root := newRoot(t)
			before := snap(t, s, ctx)
			r := lade(t, root, nil, append(append([]string{"build", "--progress", "plain", "-t", "out"}, args...), ctx)...)
			if c.want == "" {
				wantOK(t, r)
			} else {
				wantFail(t, r, c.want)
			}
			if c.check != nil {
				c.check(t, root, r)
			}
			sameTree(t, before, snap(t, s, ctx), nil)
			checkCanaries(t)
			checkStore(t, root)
		})
	}
}
