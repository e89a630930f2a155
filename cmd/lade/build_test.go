package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lade-build/lade/internal/testutil"
)

// buildCase is one Dockerfile with the files and config it must produce,
// each taken from what BuildKit produces for the same input.
type buildCase struct {
	name    string
	files   map[string]string
	args    []string
	tree    map[string]string // path -> testutil.Entry.String()
	absent  []string
	config  map[string]string // config.config key -> JSON
	history []string          // substrings of created_by, in order
}

// instructionCases cover each Dockerfile instruction.
var instructionCases = []buildCase{
	{
		name: "config",
		files: map[string]string{"Dockerfile": `FROM busybox
ENV A=1 B="two words" C=three\ words
ENV LEGACY legacy form value
LABEL org.example.name="conformance" org.example.multi="a b" \
      org.example.second=2
WORKDIR /srv/app
USER 1000:1000
EXPOSE 8080 53/udp 9090/tcp
VOLUME ["/data", "/cache"]
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s --retries=2 CMD ["wget", "-q", "-O-", "http://127.0.0.1:8080/health"]
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo $A"]
`},
		tree: map[string]string{"/srv/app": "dir 0755 0:0"},
		config: map[string]string{
			"Env":          `["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","A=1","B=two words","C=three words","LEGACY=legacy form value"]`,
			"Labels":       `{"org.example.multi":"a b","org.example.name":"conformance","org.example.second":"2"}`,
			"WorkingDir":   `"/srv/app"`,
			"User":         `"1000:1000"`,
			"ExposedPorts": `{"53/udp":{},"8080/tcp":{},"9090/tcp":{}}`,
			"Volumes":      `{"/cache":{},"/data":{}}`,
			"StopSignal":   `"SIGTERM"`,
			"Healthcheck":  `{"Test":["CMD","wget","-q","-O-","http://127.0.0.1:8080/health"],"Interval":30000000000,"Timeout":3000000000,"Retries":2}`,
			"Entrypoint":   `["/bin/sh","-c"]`,
			"Cmd":          `["echo $A"]`,
		},
		history: []string{"ENV A=1", "LABEL", "WORKDIR /srv/app", "USER 1000:1000", "EXPOSE", "VOLUME", "STOPSIGNAL", "HEALTHCHECK", "ENTRYPOINT", "CMD"},
	},
	{
		name:   "entrypoint resets inherited cmd",
		files:  map[string]string{"Dockerfile": "FROM busybox\nENTRYPOINT [\"/bin/echo\"]\n"},
		config: map[string]string{"Entrypoint": `["/bin/echo"]`, "Cmd": `null`},
	},
	{
		name:   "shell form and SHELL",
		files:  map[string]string{"Dockerfile": "FROM busybox\nSHELL [\"/bin/sh\", \"-xc\"]\nRUN echo shelled > /s.txt\nCMD echo hi\n"},
		tree:   map[string]string{"/s.txt": `file 0644 0:0 "shelled\n"`},
		config: map[string]string{"Cmd": `["/bin/sh","-xc","echo hi"]`, "Shell": `["/bin/sh","-xc"]`},
	},
	{
		name: "run",
		files: map[string]string{"Dockerfile": `FROM busybox
ENV GREETING=hello
WORKDIR /work
RUN echo "$GREETING world" > greeting.txt && pwd > cwd.txt
RUN ["/bin/sh", "-c", "echo exec form > /work/exec.txt"]
RUN printf 'a\nb\nc\n' | wc -l > /work/lines.txt
RUN mkdir -p /opt/tree/sub && echo x > /opt/tree/sub/f && chmod 0640 /opt/tree/sub/f && ln -s sub/f /opt/tree/link
RUN id -u > /work/uid.txt && echo "$HOME" > /work/home.txt && hostname > /work/hostname.txt
`},
		tree: map[string]string{
			"/work/greeting.txt": `file 0644 0:0 "hello world\n"`,
			"/work/cwd.txt":      `file 0644 0:0 "/work\n"`,
			"/work/exec.txt":     `file 0644 0:0 "exec form\n"`,
			"/work/lines.txt":    `file 0644 0:0 "3\n"`,
			"/opt/tree/sub/f":    `file 0640 0:0 "x\n"`,
			"/opt/tree/link":     `symlink -> sub/f`,
			"/work/uid.txt":      `file 0644 0:0 "0\n"`,
			"/work/home.txt":     `file 0644 0:0 "/root\n"`,
			"/work/hostname.txt": `file 0644 0:0 "buildkitsandbox\n"`,
			"/etc/hostname":      `file 0644 0:0 "busybox\n"`,
		},
		absent:  []string{"/etc/hosts", "/etc/resolv.conf"},
		history: []string{"ENV GREETING=hello", "WORKDIR /work", "RUN /bin/sh -c echo \"$GREETING world\" > greeting.txt && pwd > cwd.txt # buildkit"},
	},
	{
		name: "args",
		files: map[string]string{"Dockerfile": `ARG BASE=busybox
ARG VERSION=1.0
FROM ${BASE}
ARG VERSION
ARG UNSET
ARG WITH_DEFAULT=dflt
ARG OVERRIDDEN=original
ENV V=$VERSION D=${UNSET:-fallback} P=${WITH_DEFAULT:+present}
RUN echo "$VERSION $UNSET $WITH_DEFAULT $OVERRIDDEN" > /args.txt
RUN echo "${OVERRIDDEN}-suffix" > /braced.txt
LABEL version=$VERSION
`},
		args: []string{"--build-arg", "OVERRIDDEN=fromcli"},
		tree: map[string]string{
			"/args.txt":   `file 0644 0:0 "1.0  dflt fromcli\n"`,
			"/braced.txt": `file 0644 0:0 "fromcli-suffix\n"`,
		},
		config: map[string]string{
			"Env":    `["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","V=1.0","D=fallback","P=present"]`,
			"Labels": `{"version":"1.0"}`,
		},
		history: []string{"ARG VERSION=1.0", "RUN |4 VERSION=1.0 UNSET= WITH_DEFAULT=dflt OVERRIDDEN=fromcli /bin/sh -c"},
	},
	{
		name:  "global arg needs redeclaring in the stage",
		files: map[string]string{"Dockerfile": "ARG G=global\nFROM busybox\nRUN echo \"[$G]\" > /no.txt\nARG G\nRUN echo \"[$G]\" > /yes.txt\n"},
		tree:  map[string]string{"/no.txt": `file 0644 0:0 "[]\n"`, "/yes.txt": `file 0644 0:0 "[global]\n"`},
	},
	{
		name: "multistage runs only needed stages",
		files: map[string]string{"Dockerfile": `FROM busybox AS base
RUN echo base > /base.txt
FROM base AS left
RUN echo left > /left.txt
FROM base AS right
RUN echo right > /right.txt
FROM busybox AS unused
RUN echo "must not run" && false
FROM busybox
COPY --from=left /left.txt /base.txt /out/
COPY --from=right /right.txt /out/right.txt
COPY --from=0 /base.txt /out/from-index.txt
`},
		tree: map[string]string{
			"/out":                "dir 0755 0:0",
			"/out/base.txt":       `file 0644 0:0 "base\n"`,
			"/out/left.txt":       `file 0644 0:0 "left\n"`,
			"/out/right.txt":      `file 0644 0:0 "right\n"`,
			"/out/from-index.txt": `file 0644 0:0 "base\n"`,
		},
	},
	{
		name:   "target",
		files:  map[string]string{"Dockerfile": "FROM busybox AS builder\nRUN echo built > /artifact\nLABEL stage=builder\nFROM busybox AS final\nCOPY --from=builder /artifact /artifact\nRUN false\n"},
		args:   []string{"--target", "builder"},
		tree:   map[string]string{"/artifact": `file 0644 0:0 "built\n"`},
		config: map[string]string{"Labels": `{"stage":"builder"}`},
	},
	{
		name:  "escape directive",
		files: map[string]string{"Dockerfile": "# escape=`\n\nFROM busybox\n# a comment before a continued line\nRUN echo one `\n    two `\n# a comment inside the continuation\n    three > /words.txt\nENV PATHLIKE=C:\\tools\\bin\nRUN echo \"$PATHLIKE\" > /pathlike.txt\n"},
		tree: map[string]string{
			"/words.txt":    `file 0644 0:0 "one two three\n"`,
			"/pathlike.txt": `file 0644 0:0 "C:\\tools\\bin\n"`,
		},
	},
	{
		name: "heredocs",
		files: map[string]string{"Dockerfile": `FROM busybox
ARG NAME=world
RUN <<EOT
set -e
mkdir -p /out
echo "hello ${NAME}" > /out/hello.txt
echo second line >> /out/hello.txt
EOT
COPY <<EOT /out/copied.txt
literal content for ${NAME}
EOT
COPY <<-"EOT" /out/quoted.txt
	no expansion of ${NAME}
	EOT
RUN <<EOT sh
echo "from sh heredoc" > /out/sh.txt
EOT
RUN <<EOT
#!/bin/sh
echo "shebang script" > /out/shebang.txt
EOT
`},
		tree: map[string]string{
			"/out/hello.txt":   `file 0644 0:0 "hello world\nsecond line\n"`,
			"/out/copied.txt":  `file 0644 0:0 "literal content for world\n"`,
			"/out/quoted.txt":  `file 0644 0:0 "no expansion of ${NAME}\n"`,
			"/out/sh.txt":      `file 0644 0:0 "from sh heredoc\n"`,
			"/out/shebang.txt": `file 0644 0:0 "shebang script\n"`,
		},
		absent: []string{"/dev/pipes"},
	},
	{
		name: "whiteouts",
		files: map[string]string{"Dockerfile": `FROM busybox
RUN mkdir -p /data/keep /data/gone /data/opaque && echo 1 > /data/keep/a && echo 2 > /data/gone/b && echo 3 > /data/opaque/c && echo 4 > /data/file
RUN rm -rf /data/gone /data/file /bin/vi /etc/hostname
RUN rm -rf /data/opaque && mkdir /data/opaque && echo new > /data/opaque/d
RUN rm /data/keep/a && echo replaced > /data/keep/a2
`},
		tree: map[string]string{
			"/data/keep/a2":  `file 0644 0:0 "replaced\n"`,
			"/data/opaque/d": `file 0644 0:0 "new\n"`,
		},
		absent: []string{"/data/gone", "/data/file", "/bin/vi", "/etc/hostname", "/data/opaque/c", "/data/keep/a"},
	},
	{
		name: "user and workdir ownership",
		files: map[string]string{"Dockerfile": `FROM busybox
USER app
WORKDIR /home/app/work
RUN touch made-by-app && id > id.txt
USER root
RUN touch /root-made
USER 1000
WORKDIR /newdir-as-1000
RUN touch inside
`},
		tree: map[string]string{
			"/home/app/work":             "dir 0755 1000:1000",
			"/home/app/work/id.txt":      `file 0644 1000:1000 "uid=1000(app) gid=1000(app) groups=1000(app)\n"`,
			"/home/app/work/made-by-app": `file 0644 1000:1000 ""`,
			"/newdir-as-1000":            "dir 0755 1000:1000",
			"/newdir-as-1000/inside":     `file 0644 1000:1000 ""`,
			"/root-made":                 `file 0644 0:0 ""`,
		},
		config: map[string]string{"User": `"1000"`, "WorkingDir": `"/newdir-as-1000"`},
	},
	{
		name:  "network none",
		files: map[string]string{"Dockerfile": "FROM busybox\nRUN --network=none cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' ' > /ifaces\n"},
		tree:  map[string]string{"/ifaces": `file 0644 0:0 "lo\n"`},
	},
	{
		name:   "onbuild is stored",
		files:  map[string]string{"Dockerfile": "FROM busybox\nONBUILD RUN echo triggered > /trig\nMAINTAINER someone\n"},
		config: map[string]string{"OnBuild": `["RUN echo triggered > /trig"]`},
		absent: []string{"/trig"},
	},
}

func TestBuildInstructions(t *testing.T) { runBuildCases(t, instructionCases) }

// runBuildCases builds each case in one root and checks its image.
func runBuildCases(t *testing.T, cases []buildCase) {
	root := newRoot(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			im := buildOCI(t, root, writeTree(t, tc.files), tc.args...)
			checkImage(t, im, tc)
		})
	}
}

func checkImage(t *testing.T, img *testutil.Image, tc buildCase) {
	t.Helper()
	for p, want := range tc.tree {
		e, ok := img.Tree[p]
		if !ok {
			t.Errorf("%s: missing", p)
			continue
		}
		if got := e.String(); got != want {
			t.Errorf("%s:\n got %s\nwant %s", p, got, want)
		}
	}
	for _, p := range tc.absent {
		if e, ok := img.Tree[p]; ok {
			t.Errorf("%s: should be absent, is %s", p, e)
		}
	}
	cfg := img.ImageConfig()
	for k, want := range tc.config {
		got, _ := json.Marshal(cfg[k])
		var w any
		if err := json.Unmarshal([]byte(want), &w); err != nil {
			t.Fatalf("bad want for %s: %v", k, err)
		}
		wb, _ := json.Marshal(w)
		if d := cmp.Diff(string(wb), string(got)); d != "" {
			t.Errorf("config %s (-want +got):\n%s", k, d)
		}
	}
	var hist []string
	for _, h := range img.History {
		s, _ := h["created_by"].(string)
		hist = append(hist, s)
	}
	i := 0
	for _, h := range hist {
		if i < len(tc.history) && strings.Contains(h, tc.history[i]) {
			i++
		}
	}
	if i < len(tc.history) {
		t.Errorf("history lacks %q (in order); have:\n%s", tc.history[i], strings.Join(hist, "\n"))
	}
}
