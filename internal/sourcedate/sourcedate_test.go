package sourcedate

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/lade-build/lade/internal/testutil"
)

func TestFromGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		testutil.Unavailable(t, "git: %v", err)
	}
	repo := t.TempDir()
	git := func(env []string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", repo}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git(nil, "init", "-q")
	if err := os.WriteFile(filepath.Join(repo, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(nil, "add", "f")
	git([]string{"GIT_COMMITTER_DATE=@1600000000 +0000", "GIT_AUTHOR_DATE=@1500000000 +0000"},
		"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
	// A dirty tree still has its HEAD's time.
	if err := os.WriteFile(filepath.Join(repo, "f"), []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(repo, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		dir     string
		want    time.Time
		wantErr bool
	}{
		{repo, time.Unix(1600000000, 0).UTC(), false},
		{sub, time.Unix(1600000000, 0).UTC(), false},
		{t.TempDir(), time.Time{}, true},
	}
	for _, tc := range cases {
		got, err := FromGit(context.Background(), tc.dir)
		if (err != nil) != tc.wantErr || !got.Equal(tc.want) {
			t.Errorf("FromGit(%s) = %v, %v; want %v (error: %v)", tc.dir, got, err, tc.want, tc.wantErr)
		}
	}
}
