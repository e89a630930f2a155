package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lade-build/lade/imagediff"
	"github.com/lade-build/lade/internal/testutil"
)

// TestVerifyRepro: --verify-repro passes a deterministic build and fails
// one whose RUN writes the time, naming the file; the main root keeps no
// scratch root afterwards.
func TestVerifyRepro(t *testing.T) {
	root := newRoot(t)
	cases := []struct {
		name       string
		dockerfile string
		env        string // SOURCE_DATE_EPOCH, "" for unset
		wantCode   int
		want       []string // substrings of stderr
	}{
		{
			name: "deterministic",
			dockerfile: `FROM busybox
COPY a /a
RUN echo hello > /f && chmod 0600 /f && ln -s /f /sym && ln /f /hard && mkdir -p /d && touch /d/x
`,
			want: []string{"SOURCE_DATE_EPOCH=0 (no git commit time for the context)", "reproducible: sha256:"},
		},
		{
			name:       "deterministic with epoch",
			dockerfile: "FROM busybox\nCOPY a /a\nRUN echo hi > /f\n",
			env:        "1700000000",
			want:       []string{"reproducible: sha256:"},
		},
		{
			// busybox's date has no %N: the sleep, run again by the
			// rebuild after the first build's date, puts the two dates
			// in different seconds.
			name:       "time stamp",
			dockerfile: "FROM busybox\nCOPY a /a\nRUN sleep 1\nRUN date +%s%N > /stamp\n",
			wantCode:   1,
			want:       []string{"not reproducible:", "layer 3: /stamp: content differs (sha256:", "the build is not reproducible"},
		},
		{
			name:       "random",
			dockerfile: "FROM busybox\nRUN head -c 16 /dev/urandom > /rand && echo $RANDOM > /etc/r\n",
			wantCode:   1,
			want:       []string{"layer 1: /etc/r: content differs (sha256:", "layer 1: /rand: content differs (sha256:"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("SOURCE_DATE_EPOCH", tc.env)
			} else {
				t.Setenv("SOURCE_DATE_EPOCH", "")
			}
			dir := writeTree(t, map[string]string{"Dockerfile": tc.dockerfile, "a": "A\n"})
			tag := "repro:" + strings.ReplaceAll(tc.name, " ", "-")
			r := lade(t, root, "", "build", "--progress", "plain", "--verify-repro", "-t", tag, dir)
			if r.code != tc.wantCode {
				t.Fatalf("build --verify-repro = %d, want %d:\n%s", r.code, tc.wantCode, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if tc.wantCode != 0 && strings.Contains(r.stderr, "/a:") {
				t.Errorf("report names the COPY's file, which is reproducible:\n%s", r.stderr)
			}
			// Verification comes before the export: a failed build is not tagged.
			if got := lade(t, root, "", "inspect", tag).code; (got == 0) != (tc.wantCode == 0) {
				t.Errorf("inspect %s = %d after build exit %d", tag, got, r.code)
			}
			left, _ := filepath.Glob(filepath.Join(root, "tmp", reproPrefix+"*"))
			if len(left) > 0 {
				t.Errorf("scratch roots left: %v", left)
			}
		})
	}
}

// TestVerifyReproGitEpoch: without SOURCE_DATE_EPOCH, both builds use
// the context's git commit time.
func TestVerifyReproGitEpoch(t *testing.T) {
	root := newRoot(t)
	if _, err := exec.LookPath("git"); err != nil {
		testutil.Unavailable(t, "git: %v", err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "")
	dir := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nCOPY a /a\n", "a": "A\n"})
	cmd := exec.Command("sh", "-c", "git init -q && git add . && git -c user.name=t -c user.email=t@t commit -qm c")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_COMMITTER_DATE=@1600000000 +0000", "GIT_AUTHOR_DATE=@1500000000 +0000")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git: %v\n%s", err, out)
	}
	r := lade(t, root, "", "build", "--progress", "plain", "--verify-repro", "-t", "git:1", dir)
	if r.code != 0 || !strings.Contains(r.stderr, "SOURCE_DATE_EPOCH=1600000000 (the context's git commit time)") {
		t.Fatalf("build --verify-repro = %d:\n%s", r.code, r.stderr)
	}
	r = lade(t, root, "", "inspect", "git:1")
	if !strings.Contains(r.stdout, `"Created": "2020-09-13T12:26:40Z"`) {
		t.Errorf("inspect git:1: want Created = the commit time:\n%s", r.stdout)
	}
}

// TestImageDiff: lade image diff of two tags, in text and JSON, and of a
// tag with itself.
func TestImageDiff(t *testing.T) {
	root := newRoot(t)
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000") // else the builds' times differ too
	for _, v := range []string{"1", "2"} {
		dir := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nENV V=" + v + "\nCOPY f /f\nRUN echo x > /same\n", "f": v})
		if r := lade(t, root, "", "build", "-t", "d:"+v, dir); r.code != 0 {
			t.Fatalf("build: %s", r.stderr)
		}
	}
	r := lade(t, root, "", "image", "diff", "d:1", "d:1")
	if r.code != 0 || r.stdout != "" {
		t.Errorf("image diff d:1 d:1 = %d %q, want 0 and no output (%s)", r.code, r.stdout, r.stderr)
	}
	r = lade(t, root, "", "image", "diff", "d:1", "d:2")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	want := []string{
		`config: .Config.Env differs: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","V=1"] vs ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","V=2"]`,
		`config: .History[1] differs: {"created":"2023-11-14T22:13:20Z","created_by":"ENV V=1","comment":"buildkit.dockerfile.v0","empty_layer":true} vs {"created":"2023-11-14T22:13:20Z","created_by":"ENV V=2","comment":"buildkit.dockerfile.v0","empty_layer":true}`,
		"layer 1: /f: content differs (" + sha256sum("1") + " vs " + sha256sum("2") + ")",
	}
	if diff := cmp.Diff(want, lines); r.code != 1 || diff != "" {
		t.Errorf("image diff d:1 d:2 = %d (-want +got):\n%s\n%s", r.code, diff, r.stderr)
	}
	r = lade(t, root, "", "image", "diff", "--format", "json", "d:1", "d:2")
	var rep imagediff.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 1 || rep.Identical || len(rep.Differences) != len(lines) {
		t.Errorf("image diff --format json = %d, %v: %+v", r.code, err, rep)
	}
	if r := lade(t, root, "", "image", "diff", "d:1", "nonexistent.invalid/x:1"); r.code == 0 || r.code == 1 && r.stderr == "" {
		t.Errorf("image diff with a missing image = %d %q", r.code, r.stderr)
	}
}

func sha256sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(h[:])
}
