// Package hardening holds lade's hostile-input, crash and concurrency
// tests. They drive the real lade binary (built once in TestMain) and the
// packages' APIs with crafted layers, archives, Dockerfiles and contexts,
// kill lade at random points, fill its disk and corrupt its store, and
// check every time that the error is clear, that nothing outside the
// allowed directories changed and that the store still verifies.
package hardening
