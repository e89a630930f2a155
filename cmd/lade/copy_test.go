package main

import "testing"

// copyCases cover COPY and ADD from the build context.
var copyCases = []buildCase{
	{
		name: "copy forms",
		files: map[string]string{
			"Dockerfile": `FROM busybox
COPY top.txt /single/
COPY top.txt /renamed.txt
COPY src /copied-src
COPY src/ /copied-src-slash/
COPY *.conf /confs/
COPY docs/README.md src/one.txt /multi/
COPY . /everything/
WORKDIR /rel
COPY top.txt relative.txt
COPY src/sub nested/deeper/
`,
			"top.txt": "top\n", "a.conf": "a\n", "b.conf": "b\n", "docs/README.md": "readme\n",
			"src/one.txt": "one\n", "src/two.txt": "two\n", "src/sub/deep.txt": "deep\n",
		},
		tree: map[string]string{
			"/single/top.txt":              `file 0644 0:0 "top\n"`,
			"/renamed.txt":                 `file 0644 0:0 "top\n"`,
			"/copied-src/one.txt":          `file 0644 0:0 "one\n"`,
			"/copied-src/sub/deep.txt":     `file 0644 0:0 "deep\n"`,
			"/copied-src-slash/two.txt":    `file 0644 0:0 "two\n"`,
			"/confs/a.conf":                `file 0644 0:0 "a\n"`,
			"/confs/b.conf":                `file 0644 0:0 "b\n"`,
			"/multi/README.md":             `file 0644 0:0 "readme\n"`,
			"/multi/one.txt":               `file 0644 0:0 "one\n"`,
			"/everything/top.txt":          `file 0644 0:0 "top\n"`,
			"/everything/src/sub/deep.txt": `file 0644 0:0 "deep\n"`,
			"/rel/relative.txt":            `file 0644 0:0 "top\n"`,
			"/rel/nested/deeper/deep.txt":  `file 0644 0:0 "deep\n"`,
			"/rel/nested/deeper":           "dir 0755 0:0",
		},
		absent:  []string{"/copied-src/src", "/confs/top.txt", "/multi/docs"},
		history: []string{"COPY top.txt /single/ # buildkit", "COPY *.conf /confs/ # buildkit"},
	},
	{
		name: "chown and chmod",
		files: map[string]string{
			"Dockerfile": `FROM busybox
COPY --chown=1000:1000 f.txt /owned/numeric.txt
COPY --chown=app:app f.txt /owned/named.txt
COPY --chown=app d /owned/dir
COPY --chmod=0750 g.sh /bin/g.sh
COPY --chmod=600 d /private
COPY --chown=1000 --chmod=0444 f.txt /ro.txt
`,
			"f.txt": "f\n", "g.sh": "g\n", "d/e.txt": "e\n",
		},
		tree: map[string]string{
			"/owned":             "dir 0755 1000:1000",
			"/owned/numeric.txt": `file 0644 1000:1000 "f\n"`,
			"/owned/named.txt":   `file 0644 1000:1000 "f\n"`,
			"/owned/dir":         "dir 0755 1000:1000",
			"/owned/dir/e.txt":   `file 0644 1000:1000 "e\n"`,
			"/bin/g.sh":          `file 0750 0:0 "g\n"`,
			"/private":           "dir 0600 0:0",
			"/private/e.txt":     `file 0600 0:0 "e\n"`,
			"/ro.txt":            `file 0444 1000:1000 "f\n"`,
		},
		history: []string{"COPY --chown=1000:1000 f.txt /owned/numeric.txt # buildkit"},
	},
	{
		name: "dockerignore",
		files: map[string]string{
			"Dockerfile":            "FROM busybox\nCOPY . /ctx/\n",
			".dockerignore":         "# comments are ignored\nnode_modules\nlogs/*.log\n!logs/important.log\n**/*.env\nnested/logs\n",
			"keep/k.txt":            "k\n",
			"logs/a.log":            "a\n",
			"logs/important.log":    "l\n",
			"main.go":               "m\n",
			"nested/code.go":        "c\n",
			"nested/logs/x.log":     "x\n",
			"node_modules/pkg/i.js": "i\n",
			"secret.env":            "s\n",
			"deep/er/also.env":      "s\n",
		},
		tree: map[string]string{
			"/ctx/.dockerignore":      `file 0644 0:0 "# comments are ignored\nnode_modules\nlogs/*.log\n!logs/important.log\n**/*.env\nnested/logs\n"`,
			"/ctx/Dockerfile":         `file 0644 0:0 "FROM busybox\nCOPY . /ctx/\n"`,
			"/ctx/keep/k.txt":         `file 0644 0:0 "k\n"`,
			"/ctx/logs/important.log": `file 0644 0:0 "l\n"`,
			"/ctx/main.go":            `file 0644 0:0 "m\n"`,
			"/ctx/nested/code.go":     `file 0644 0:0 "c\n"`,
		},
		absent: []string{"/ctx/logs/a.log", "/ctx/nested/logs", "/ctx/node_modules", "/ctx/secret.env", "/ctx/deep/er/also.env"},
	},
	{
		name: "dockerfile-specific dockerignore wins",
		files: map[string]string{
			"Dockerfile":              "FROM busybox\nCOPY . /ctx/\n",
			"Dockerfile.dockerignore": "a.txt\n",
			".dockerignore":           "b.txt\n",
			"a.txt":                   "a\n",
			"b.txt":                   "b\n",
		},
		tree:   map[string]string{"/ctx/b.txt": `file 0644 0:0 "b\n"`},
		absent: []string{"/ctx/a.txt"},
	},
	{
		name: "add file and copy from an image",
		files: map[string]string{
			"Dockerfile": "FROM busybox\nADD plain.txt /added/\nCOPY --from=busybox /etc/passwd /from-image-passwd\n",
			"plain.txt":  "p\n",
		},
		tree: map[string]string{
			"/added/plain.txt": `file 0644 0:0 "p\n"`,
		},
	},
}

func TestBuildCopy(t *testing.T) { runBuildCases(t, copyCases) }
