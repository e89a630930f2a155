package fileop

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// unnamedURLFile is the name BuildKit gives a URL without a path segment.
const unnamedURLFile = "__unnamed__"

// FetchURL downloads an ADD <url> source into a fresh directory under
// tmpDir, following redirects. checksum ("sha256:<hex>", also sha384 and
// sha512) is verified when set. The file is stored as <dir>/<name> with
// mode 0600 and, when the server sent Last-Modified, that mtime, so that
// CopyFetched (or Copy) reproduces BuildKit's result. name is the
// Content-Disposition filename, else the last path segment of the final URL.
func FetchURL(ctx context.Context, rawURL, checksum, tmpDir string) (p, name string, modTime time.Time, err error) {
	var want string
	var h hash.Hash
	if checksum != "" {
		algo, hexd, ok := strings.Cut(checksum, ":")
		switch {
		case !ok:
			return "", "", time.Time{}, fmt.Errorf("fetch %s: invalid checksum %q", rawURL, checksum)
		case algo == "sha256":
			h = sha256.New()
		case algo == "sha384":
			h = sha512.New384()
		case algo == "sha512":
			h = sha512.New()
		default:
			return "", "", time.Time{}, fmt.Errorf("fetch %s: unsupported checksum algorithm %q", rawURL, algo)
		}
		if _, err := hex.DecodeString(hexd); err != nil || len(hexd) != 2*h.Size() {
			return "", "", time.Time{}, fmt.Errorf("fetch %s: invalid checksum %q", rawURL, checksum)
		}
		want = algo + ":" + strings.ToLower(hexd)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("fetch %s: %w", rawURL, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("fetch %s: %w", rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", "", time.Time{}, fmt.Errorf("fetch %s: invalid response status %d", rawURL, resp.StatusCode)
	}

	name = unnamedURLFile
	if b := path.Base(resp.Request.URL.Path); b != "." && b != "/" && b != "" {
		name = b
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != "" {
		if _, params, err := mime.ParseMediaType(cd); err == nil {
			if fn := filepath.Base(params["filename"]); params["filename"] != "" && fn != "." && fn != "/" && fn != ".." {
				name = fn
			}
		}
	}
	if lm := resp.Header.Get("Last-Modified"); lm != "" {
		if t, err := http.ParseTime(lm); err == nil {
			modTime = t
		}
	}

	dir, err := os.MkdirTemp(tmpDir, "lade-url-")
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("fetch %s: %w", rawURL, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	p = filepath.Join(dir, name)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("fetch %s: %w", rawURL, err)
	}
	var w io.Writer = f
	if h != nil {
		w = io.MultiWriter(f, h)
	}
	if _, err = io.Copy(w, resp.Body); err != nil {
		f.Close()
		return "", "", time.Time{}, fmt.Errorf("fetch %s: %w", rawURL, err)
	}
	if err = f.Close(); err != nil {
		return "", "", time.Time{}, fmt.Errorf("fetch %s: %w", rawURL, err)
	}
	if h != nil {
		algo, _, _ := strings.Cut(want, ":")
		got := algo + ":" + hex.EncodeToString(h.Sum(nil))
		if got != want {
			err = fmt.Errorf("fetch %s: digest mismatch %s: expected %s", rawURL, got, want)
			return "", "", time.Time{}, err
		}
	}
	if err = os.Chmod(p, 0o600); err != nil {
		return "", "", time.Time{}, err
	}
	if !modTime.IsZero() {
		if err = os.Chtimes(p, modTime, modTime); err != nil {
			return "", "", time.Time{}, err
		}
	}
	return p, name, modTime, nil
}

// CopyFetched copies a file returned by FetchURL to opts.Dest with the
// rest of opts (Chown, Chmod, DestRoot, SourceDateEpoch). Src, Paths,
// Parents, Exclude and Add are overridden: URL sources are never extracted.
func CopyFetched(ctx context.Context, fetchedPath string, opts CopyOptions) error {
	opts.Src = Source{Root: filepath.Dir(fetchedPath)}
	opts.Paths = []string{filepath.Base(fetchedPath)}
	opts.Parents = false
	opts.Exclude = nil
	opts.Add = false
	opts.literal = true
	return Copy(ctx, opts)
}
