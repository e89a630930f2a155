// Package images is lade's local image store: named references to image
// manifests whose blobs live in the content store (package cache), and
// the ways images come in and go out: Pull and Push (registries, with
// cross-repository mounts from the recorded blob sources; Tags and
// RemoteTags list a repository's tags for push and pull -a), Import (a
// rootfs tarball, its config edited by docker's --change instructions,
// ApplyChanges), Commit (a container's changes as one more layer on its
// image, its config edited the same way), Load and LoadLayout (docker and
// OCI archives, layouts), Save, and Delete (docker rmi's rules).
//
// Lifecycle: Tag (or Store, for an untagged image) copies an image's layer
// blobs, config and manifest into content, skipping blobs already there,
// then records name -> manifest digest in root/index.json. The index is
// updated under an exclusive flock on root/lock and replaced atomically
// and durably (atomicfile, fsynced), so concurrent lade processes never
// lose a tag and readers never see a half-written index (a temp file a
// killed writer leaves, Scratch reports to package gc). Get resolves a
// name or digest back into a v1.Image served from the stored raw
// manifest, so its digest is exactly the one that was tagged. Pull fills
// content from a registry (verifying every blob, the manifest last) and
// Import/Load/LoadLayout from local files; all return store-backed
// images.
//
// Multi-platform images are image indexes: TagIndex stores every child
// image (blobs, manifest) and nested index, then the index, and records
// name -> index digest; the children are listed only with their index
// (one List entry, with its platforms) and dropped with it unless named
// on their own. Get of an index picks the host's platform
// (DefaultPlatform), GetPlatform any platform by the OCI matching rules
// (Normalize: arm64 is arm64/v8, x86_64 is amd64), GetIndex the index
// itself; Manifests lists every image and index for GC's roots. Indexes
// go out with PushIndex and Save (an OCI archive of the index) and come in
// with LoadLayout/Load of a layout whose entry is an index. Manifest lists
// being put together (docker manifest) live apart, in root/manifests:
// ManifestCreate, ManifestAnnotate, ManifestPush, ManifestInspect,
// ManifestRemove. PullOptions.Verify (lade's signature policy) judges the
// digest a reference resolves to before Pull fetches or stores anything.
// Registries are reached through Transport (docker's TLS rules: certs.d,
// insecure registries) with docker's credentials, which Login and Logout
// write and erase through config.json's credential helpers.
// Inspect, History and Filter describe stored images as docker's
// inspect, history and images --filter do; DiskUsage measures them for
// system df; Prune untags the dangling (or unused) images image prune
// and system prune select. Blobs no longer named stay until the build
// cache's GC frees them.
//
// Pull, Push, Tag, Untag, Delete, Import, Load and Save record docker's
// image events in the root's event log (package events; the store lives
// in <root>/images).
package images
