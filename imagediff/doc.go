// Package imagediff compares two images the way diffoci does, to tell
// whether a build is reproducible and, when it is not, why.
//
// Compare walks from the top down: the manifests (media types,
// annotations, layer count), the config files field by field (Go field
// paths such as .Config.Env, .History[2], .RootFS.DiffIDs[1]), then the
// layers by index. Layers with the same digest are skipped; a layer whose
// compressed blob differs but whose diff_id does not is reported as such;
// otherwise both layers' uncompressed tars are streamed, never extracted,
// each into an index of its entries' metadata and content digests (the
// data itself is only hashed), and the indexes are compared path by path.
// Every difference names its layer, its path and the field that differs
// (content digest, mode, uid/gid, owner names, mtime, link or hardlink
// target, device numbers, xattrs, other PAX records). Reports are sorted,
// so the same pair of images always gives the same report.
package imagediff
