package fileop

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
	"unicode"
)

// unnamedURLFile is the name BuildKit gives a URL without a path segment.
const unnamedURLFile = "__unnamed__"

// FetchURL downloads an ADD <url> source into a fresh directory under
// tmpDir, following redirects, and charges its length to limit (nil: no
// bound). checksum ("sha256:<hex>", also sha384 and sha512) is verified
// when set. The file is stored as <dir>/<name> with mode 0600 and, when the
// server sent Last-Modified, that mtime, so that CopyFetched reproduces
// BuildKit's result. name is URLFileName(rawURL): like BuildKit's
// Dockerfile frontend, neither redirects nor Content-Disposition rename it.
func FetchURL(ctx context.Context, rawURL, checksum, tmpDir string, limit *Limit) (p, name string, modTime time.Time, err error) {
	check, err := newDigestCheck(checksum)
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("fetch %s: %w", rawURL, err)
	}
	resp, err := get(ctx, rawURL, limit)
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("fetch %s: %w", rawURL, err)
	}
	defer resp.Body.Close()
	name = URLFileName(rawURL)
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
	if err = save(p, &chargeReader{r: resp.Body, limit: limit}, check); err != nil {
		return "", "", time.Time{}, fmt.Errorf("fetch %s: %w", rawURL, err)
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

// get sends the request for rawURL and returns a successful response
// whose declared length fits limit: one past it fails before anything is
// written.
func get(ctx context.Context, rawURL string, limit *Limit) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		resp.Body.Close()
		return nil, fmt.Errorf("invalid response status %d", resp.StatusCode)
	}
	if err := limit.check(resp.ContentLength); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

// save writes r to the new file p, verifying it against check (nil: none).
func save(p string, r io.Reader, check *digestCheck) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	var w io.Writer = f
	if check != nil {
		w = io.MultiWriter(f, check.h)
	}
	if _, err := io.Copy(w, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return check.verify()
}

// digestCheck verifies content against an ADD --checksum.
type digestCheck struct {
	want string // "algo:hex", hex in lower case
	h    hash.Hash
}

// newDigestCheck parses checksum ("sha256:<hex>", also sha384 and
// sha512); "" gives nil, no check.
func newDigestCheck(checksum string) (*digestCheck, error) {
	if checksum == "" {
		return nil, nil
	}
	algo, hexd, ok := strings.Cut(checksum, ":")
	var h hash.Hash
	switch {
	case !ok:
		return nil, fmt.Errorf("invalid checksum %q", checksum)
	case algo == "sha256":
		h = sha256.New()
	case algo == "sha384":
		h = sha512.New384()
	case algo == "sha512":
		h = sha512.New()
	default:
		return nil, fmt.Errorf("unsupported checksum algorithm %q", algo)
	}
	if _, err := hex.DecodeString(hexd); err != nil || len(hexd) != 2*h.Size() {
		return nil, fmt.Errorf("invalid checksum %q", checksum)
	}
	return &digestCheck{want: algo + ":" + strings.ToLower(hexd), h: h}, nil
}

// verify fails unless what was hashed has the wanted digest.
func (c *digestCheck) verify() error {
	if c == nil {
		return nil
	}
	algo, _, _ := strings.Cut(c.want, ":")
	if got := algo + ":" + hex.EncodeToString(c.h.Sum(nil)); got != c.want {
		return fmt.Errorf("digest mismatch %s: expected %s", got, c.want)
	}
	return nil
}

// URLFileName is the name ADD gives the file downloaded from rawURL, as
// BuildKit's Dockerfile frontend names it: the last segment of the URL's
// path as written, "__unnamed__" without one, "download" when that is not a
// usable file name.
func URLFileName(rawURL string) string {
	name := unnamedURLFile
	if u, err := url.Parse(rawURL); err == nil {
		if b := path.Base(u.Path); b != "." && b != "/" {
			name = b
		}
	}
	name = filepath.Base(strings.TrimSpace(name))
	if name == "" || name == "." || name == ".." || name == "/" || strings.ContainsFunc(name, unicode.IsControl) {
		return "download"
	}
	return name
}

// chargeReader charges what it reads to limit.
type chargeReader struct {
	r     io.Reader
	limit *Limit
}

func (c *chargeReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if cerr := c.limit.charge(int64(n)); cerr != nil {
		return n, cerr
	}
	return n, err
}

// CopyFetched copies a file returned by FetchURL to opts.Dest with the
// rest of opts (Chown, Chmod, DestRoot, Add and Limit for ADD --unpack=true,
// SourceDateEpoch). Src, Paths, Parents and Exclude are overridden, and the
// file's name is never a pattern.
func CopyFetched(ctx context.Context, fetchedPath string, opts CopyOptions) error {
	return Copy(ctx, fetchedOptions(fetchedPath, opts))
}

func fetchedOptions(fetchedPath string, opts CopyOptions) CopyOptions {
	opts.Src = Source{Root: filepath.Dir(fetchedPath)}
	opts.Paths = []string{filepath.Base(fetchedPath)}
	opts.Parents = false
	opts.Exclude = nil
	opts.literal = true
	return opts
}
