#!/bin/sh
# Regenerates the documentation made from lade's commands: README.md's
# table of docker's commands and flags (checked by cmd/lade's
# TestREADMEDockerTable) and, given a directory, a man page per command
# (cobra's generator, `lade docs man DIR`). docker's side of the table is
# cmd/lade/testdata/docker-commands.txt, from scripts/docker-commands.sh.
#   usage: scripts/gen-docs.sh [MANDIR]
set -eu
cd "$(dirname "$0")/.."
LADE_UPDATE_README=1 go test -count=1 -run '^TestREADMEDockerTable$' ./cmd/lade
go test -count=1 -run '^TestREADMEDockerTable$|^TestEveryCommandHasExamples$' ./cmd/lade
if [ $# -gt 0 ]; then
	go run ./cmd/lade docs man "$1"
fi
