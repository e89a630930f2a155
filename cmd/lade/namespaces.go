package main

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

func init() {
	commands = append(commands, (*app).builderCmd)
}

// member is a subcommand of one of docker's management commands that
// is also a top-level command: docker's name for it, the top-level
// command's name, and docker's aliases.
type member struct {
	name, top string
	aliases   []string
}

// namespaces are docker's management commands and their members. Each
// member is built by the same constructor as its top-level command,
// found by name when the tree is built: a top-level command lade lacks
// leaves its member out, and one added later joins without an edit here.
var namespaces = map[string][]member{
	"container": {
		{"attach", "attach", nil}, {"commit", "commit", nil}, {"cp", "cp", nil}, {"create", "create", nil},
		{"diff", "diff", nil}, {"exec", "exec", nil}, {"export", "export", nil}, {"kill", "kill", nil},
		{"logs", "logs", nil}, {"ls", "ps", []string{"list", "ps"}}, {"pause", "pause", nil}, {"port", "port", nil},
		{"rename", "rename", nil}, {"restart", "restart", nil}, {"rm", "rm", []string{"remove"}}, {"run", "run", nil},
		{"start", "start", nil}, {"stats", "stats", nil}, {"stop", "stop", nil}, {"top", "top", nil},
		{"unpause", "unpause", nil}, {"update", "update", nil}, {"wait", "wait", nil},
	},
	"image": {
		{"build", "build", nil}, {"history", "history", nil}, {"import", "import", nil}, {"inspect", "inspect", nil},
		{"load", "load", nil}, {"ls", "images", []string{"list"}}, {"pull", "pull", nil}, {"push", "push", nil},
		{"rm", "rmi", []string{"remove"}}, {"save", "save", nil}, {"tag", "tag", nil},
	},
	"volume":  {{"ls", "", []string{"list"}}},
	"network": {{"ls", "", []string{"list"}}},
	"builder": {{"build", "build", nil}},
	"system":  {{"events", "events", nil}, {"info", "info", nil}},
}

// namespaceOnly are subcommands only a namespace has (the prunes), by
// namespace; their files register them.
var namespaceOnly = map[string][]func(*app) *cobra.Command{}

// needsNamespaces reports whether args go through one of docker's
// management commands, or name no command (help, completion, a typo),
// and so need the namespaces' members: the other command lines are
// spared building the top-level commands, flags and all, a second time.
func needsNamespaces(root *cobra.Command, args []string) bool {
	c, _, err := root.Find(args)
	if err != nil || c == root || c.Parent() != root {
		return true
	}
	return namespaces[c.Name()] != nil || namespaceOnly[c.Name()] != nil
}

// fillNamespaces adds the members and namespace-only subcommands each
// namespace command lacks; ctors are the top-level constructors by name.
func (a *app) fillNamespaces(root *cobra.Command, ctors map[string]func(*app) *cobra.Command) {
	for _, parent := range root.Commands() {
		for _, m := range namespaces[parent.Name()] {
			if c := subcommand(parent, m.name); c != nil {
				for _, al := range m.aliases {
					if !slices.Contains(c.Aliases, al) {
						c.Aliases = append(c.Aliases, al)
					}
				}
				continue
			}
			mk := ctors[m.top]
			if mk == nil {
				continue
			}
			c := mk(a)
			_, rest, _ := strings.Cut(c.Use, " ")
			c.Use = strings.TrimSpace(m.name + " " + rest)
			c.Aliases = m.aliases
			parent.AddCommand(c)
			if c.Example == "" {
				c.Example = memberExample(root, m.top, c.CommandPath())
			}
		}
		for _, mk := range namespaceOnly[parent.Name()] {
			if c := mk(a); subcommand(parent, c.Name()) == nil {
				parent.AddCommand(c)
			}
		}
	}
}

// subcommand is parent's subcommand called name, or nil.
func subcommand(parent *cobra.Command, name string) *cobra.Command {
	for _, c := range parent.Commands() {
		if c.Name() == name {
			return c
		}
	}
	return nil
}

// builderCmd is docker's `builder`: build, and prune (lade cache prune).
func (a *app) builderCmd() *cobra.Command {
	return &cobra.Command{Use: "builder", Short: "Manage builds"}
}
