// Package untar is the one home of extracting hostile tar streams: image
// layers (package snapshot) and ADD archives (package fileop) both go
// through Extract.
//
// Every entry name and hardlink target is resolved inside the target
// directory as if it were "/" (symlinks included, ".." never above it),
// parent directories are created 0755 root:root, and nothing outside the
// target can be created or changed. Regular files keep their holes
// (internal/holes); directory times are set last.
//
// The per-entry cost is kept near one system call per thing done: parent
// directories are resolved once and remembered until anything is removed,
// an entry is created first and looked at only when something is in the
// way, and a regular file's content and metadata go through its own
// descriptor, small files on a bounded set of writer goroutines while the
// stream goes on (every change to the tree itself stays in archive order). Options hold what
// differs between the two callers (ownership override, size limit, root
// entry, xattr policy, error wording), and a Hook lets a layer handle its
// whiteouts and opaque markers and refuse device nodes.
package untar
