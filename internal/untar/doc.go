// Package untar is the one home of extracting hostile tar streams: image
// layers (package snapshot) and ADD archives (package fileop) both go
// through Extract.
//
// Every entry name and hardlink target is resolved inside the target
// directory as if it were "/" (symlinks included, ".." never above it),
// parent directories are created 0755 root:root, and nothing outside the
// target can be created or changed. Regular files keep their holes
// (internal/holes); directory times are set last. Options hold what
// differs between the two callers (ownership override, size limit, root
// entry, xattr policy, error wording), and a Hook lets a layer handle its
// whiteouts and opaque markers and refuse device nodes.
package untar
