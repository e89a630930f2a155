// Package snapshot stores image layers as overlayfs lower directories and
// prepares overlay mounts for build steps.
//
// Lifecycle: Unpack turns an uncompressed OCI layer tar into a committed
// snapshot named by its DiffID (verified while extracting); UnpackImage does
// so for each layer of an image not unpacked yet. Unpack is Extract (into
// tmp/, verified) then Extracted.Commit (a rename): a pull commits the
// layer's blob between the two, so a lie in either leaves neither. Prepare creates
// an Active snapshot (fresh upper/work dirs) over committed parents; Mount
// and Unmount attach it at Active.Merged. After a step runs, Diff turns the
// upper dir into an OCI layer tar and Commit stores the upper dir itself as
// the committed snapshot for that tar's DiffID. Remove discards an Active.
// Work in progress lives under tmp/ and active/; what a killed process
// leaves there Scratch reports to package gc, which removes it once stale.
//
// Rootless (in a user namespace), overlayfs is mounted with userxattr
// (rootless.go); where it is refused, Mount copies the lowers into Merged
// and Unmount turns the copy back into an overlay-form upper dir (copy.go),
// so Diff and Commit are the same either way.
//
// Changes lists what an upper dir changes (docker diff's A, C and D), and
// Archive writes a plain tree (a container's files, for cp and export) as
// a tar with Diff's headers. CopyFile is the one regular-file copy, of
// the copying fallback and of package container's volume seeding.
//
// Apply extracts a layer into a plain directory (whiteouts delete), which is
// used for flattening. Unpack and Apply treat layer content as hostile: the
// extraction itself is internal/untar's, which no entry can make create or
// modify anything outside the target directory; this package adds the
// layer's part (whiteouts and opaque markers in overlay or plain form, and
// no device nodes).
package snapshot
