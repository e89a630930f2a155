package main

import (
	"context"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

func init() {
	commands = append(commands, (*app).docsCmd)
}

// docsCmd is hidden: scripts/gen-docs.sh makes the man pages with it.
func (a *app) docsCmd() *cobra.Command {
	c := &cobra.Command{Use: "docs", Short: "Generate lade's documentation", Hidden: true}
	c.AddCommand(command("man DIR", "Write a man page for every command into DIR", cobra.ExactArgs(1), func(_ context.Context, args []string) error {
		if err := os.MkdirAll(args[0], 0o755); err != nil {
			return err
		}
		root := (&app{stdin: a.stdin, stdout: a.stdout, stderr: a.stderr}).rootCmd(nil)
		root.DisableAutoGenTag = true
		return doc.GenManTree(root, &doc.GenManHeader{Title: "LADE", Section: "1", Source: "lade"}, args[0])
	}))
	return c
}
