// Package sysinfo describes this lade and its host in the Engine API's
// shapes: Versions fills system.VersionResponse (lade has no daemon, so
// the client is the engine and both halves say the same), and Collect
// fills system.Info from the stores under a root. `lade version`, `lade
// info` and the API server print or serve these same structs.
//
// The version comes from -ldflags (-X .../sysinfo.version=, .commit=) or,
// failing that, from the module and VCS data Go records in the binary.
package sysinfo
