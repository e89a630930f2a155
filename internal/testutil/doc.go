// Package testutil makes the fixtures lade's tests share, and imports no
// lade package, so every package's tests may use it (testroot, which
// needs the stores, seeds --root directories on top of it).
//
//   - Gates: RequireRoot, the one root/overlayfs check that skips tests
//     which cannot run here, and Unavailable, which fails (under CI=true)
//     or skips a test whose tool scripts/test.sh should have installed.
//   - Images: a static busybox (Busybox, BusyboxRootfs, BusyboxImage,
//     BusyboxMulti) built from Debian's busybox-static, MultiIndex,
//     EditConfig, ImageDigest and ImageID.
//   - Reading back: ReadOCITar flattens an exported archive to a tree of
//     Entry lines; EachTarEntry, LayerBytes, ReadAll, TarDir and Gzip.
//   - Services: Registry and TLSRegistry (in-memory, on loopback or a
//     host address) and RemoteImage/RemoteIndex to read what a test
//     pushed there, a private dockerd (DockerEngine) with Debian's
//     docker client, and a RootlessUser to run lade unprivileged.
//   - Plumbing: MainWithLade builds the lade binary once for a TestMain;
//     WriteTree, Listing, LockedBuffer, Poll and WaitForFile, ErrCase and
//     ErrorLines, SSHKey.
//
// What a fixture makes (trees, registries, a dockerd, a rootless user's
// home) lives in the test's temp dirs or ends with the test; only the
// rootless user itself and the arm64 busybox scripts/test.sh fetches
// stay on the host.
package testutil
