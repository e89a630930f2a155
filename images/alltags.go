package images

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// ErrTagWithAllTags is docker's refusal of NAME:TAG with push/pull -a.
var ErrTagWithAllTags = errors.New("tag can't be used with --all-tags/-a")

// AllTagsRepository checks the NAME of push and pull -a, which names a
// repository: a tag or digest is refused, as docker does.
func AllTagsRepository(ref string) error {
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return invalidReference(ref, err)
	}
	if !reference.IsNameOnly(n) {
		return ErrTagWithAllTags
	}
	return nil
}

// Tags lists the tags the store holds in repo's repository (repo is a
// name without tag), sorted.
func (s *Store) Tags(repo string) ([]string, error) {
	r, err := ParseReference(repo)
	if err != nil {
		return nil, err
	}
	idx, err := s.read()
	if err != nil {
		return nil, err
	}
	prefix := canonicalRepo(r.Context()) + ":"
	var tags []string
	for n := range idx.Refs {
		if tag, ok := strings.CutPrefix(n, prefix); ok {
			tags = append(tags, tag)
		}
	}
	sort.Strings(tags)
	return tags, nil
}

// RemoteTags lists the tags of repo's repository in its registry.
func (s *Store) RemoteTags(ctx context.Context, repo string, insecure []string) ([]string, error) {
	r, err := parseRemote(repo, insecure)
	if err != nil {
		return nil, err
	}
	tags, err := remote.List(r.Context(), s.RemoteOptions(ctx)...)
	if err != nil {
		return nil, remoteError("listing tags of", repo, err)
	}
	sort.Strings(tags)
	return tags, nil
}

// CanonicalName spells a name with its registry and repository in full,
// as docker prints it after pull -q and push -q:
// "busybox" -> "docker.io/library/busybox".
func CanonicalName(ref string) (string, error) {
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", invalidReference(ref, err)
	}
	return n.String(), nil
}
