package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// examples are the Example sections of lade's help and man pages, by
// command path, for commands whose constructors set none. A namespace
// member (`lade image ls`) shows its top-level command's examples,
// spelled its way (memberExample). A command added without one fails
// TestEveryCommandHasExamples.
var examples = map[string]string{
	"lade": `  lade build -t app .
  lade run --rm app
  lade --root /srv/lade images`,
	"lade build": `  lade build -t app:1.0 .
  lade build -f docker/Dockerfile --build-arg VERSION=2 -t app .
  lade build --platform linux/amd64,linux/arm64 -t registry.example/app --push .`,
	"lade builder":       `  lade builder prune -f`,
	"lade builder prune": `  lade builder prune -f --filter until=24h`,
	"lade cache":         `  lade cache du`,
	"lade cache du": `  lade cache du
  lade cache du --verbose`,
	"lade cache prune": `  lade cache prune -f
  lade cache prune -f --keep-storage 5GB
  lade cache prune -f --all`,
	"lade container": `  lade container ls -a
  lade container prune -f`,
	"lade container inspect": `  lade container inspect web
  lade container inspect web db`,
	"lade container ls":    `  lade container ls -a -q`,
	"lade container prune": `  lade container prune -f`,
	"lade exec": `  lade exec web ls /
  lade exec -it web sh
  lade exec -e DEBUG=1 -w /app -u nobody web ./check`,
	"lade history": `  lade history app
  lade history --no-trunc -q app`,
	"lade image": `  lade image ls
  lade image prune -a -f`,
	"lade image diff": `  lade image diff app:1 app:2
  lade image diff --format json app:1 app:2`,
	"lade image prune": `  lade image prune -f
  lade image prune -a -f --filter until=24h
  lade image prune -f --filter label=stage=build`,
	"lade images": `  lade images
  lade images -q
  lade images --digests --filter dangling=true`,
	"lade import": `  lade import rootfs.tar app:rootfs
  tar -C rootfs -c . | lade import - app:rootfs`,
	"lade info": `  lade info
  lade info --format '{{.Driver}} {{.CgroupVersion}}'`,
	"lade image inspect": `  lade image inspect alpine
  lade image inspect -f '{{.Config.Cmd}}' alpine`,
	"lade inspect": `  lade inspect alpine
  lade inspect --platform linux/arm64 alpine`,
	"lade kill": `  lade kill web
  lade kill -s HUP web`,
	"lade load": `  lade load -i app.tar
  gunzip -c app.tar.gz | lade load`,
	"lade login": `  lade login -u me registry.example
  echo "$TOKEN" | lade login -u me --password-stdin registry.example`,
	"lade logout": `  lade logout registry.example`,
	"lade logs": `  lade logs web
  lade logs -f --tail 20 web`,
	"lade manifest": `  lade manifest create registry.example/app app-amd64 app-arm64
  lade manifest push registry.example/app`,
	"lade manifest annotate": `  lade manifest annotate --os linux --arch arm64 --variant v8 registry.example/app app-arm64`,
	"lade manifest create":   `  lade manifest create registry.example/app registry.example/app:amd64 registry.example/app:arm64`,
	"lade manifest inspect": `  lade manifest inspect registry.example/app
  lade manifest inspect alpine:3.20`,
	"lade manifest push": `  lade manifest push --purge registry.example/app`,
	"lade manifest rm":   `  lade manifest rm registry.example/app`,
	"lade network": `  lade network create backend
  lade network ls`,
	"lade network connect": `  lade network connect --alias api backend web`,
	"lade network create": `  lade network create backend
  lade network create --subnet 10.10.0.0/24 --internal isolated`,
	"lade network disconnect": `  lade network disconnect backend web`,
	"lade network inspect":    `  lade network inspect backend`,
	"lade network ls": `  lade network ls
  lade network ls --format '{{.Name}}'`,
	"lade network prune": `  lade network prune -f`,
	"lade network rm":    `  lade network rm backend`,
	"lade port": `  lade port web
  lade port web 80/tcp`,
	"lade ps": `  lade ps
  lade ps -a -q`,
	"lade pull": `  lade pull alpine:3.20
  lade pull --platform linux/arm64 alpine`,
	"lade push": `  lade push registry.example/app:1.0`,
	"lade restart": `  lade restart web
  lade restart -t 2 web`,
	"lade rm": `  lade rm web
  lade rm -f -v web db`,
	"lade rmi": `  lade rmi app:1.0
  lade rmi -f app`,
	"lade run": `  lade run --rm alpine echo hello
  lade run -d --name web -p 8080:80 -v data:/data nginx
  lade run -it --rm -m 512m --cpus 1 alpine sh`,
	"lade save": `  lade save -o app.tar app:1.0
  lade save app | gzip > app.tar.gz`,
	"lade sign": `  lade sign --key cosign.key registry.example/app:1.0`,
	"lade start": `  lade start web
  lade start -a -i web`,
	"lade stop": `  lade stop web
  lade stop -t 30 web db`,
	"lade system": `  lade system df
  lade system prune -f`,
	"lade system df": `  lade system df`,
	"lade system prune": `  lade system prune -f
  lade system prune -a --volumes -f`,
	"lade tag":    `  lade tag app:1.0 registry.example/app:1.0`,
	"lade verify": `  lade verify --key cosign.pub registry.example/app:1.0`,
	"lade version": `  lade version
  lade version --format '{{.Server.APIVersion}}'
  lade --version`,
	"lade volume": `  lade volume create data
  lade volume ls`,
	"lade volume create":  `  lade volume create data`,
	"lade volume inspect": `  lade volume inspect data`,
	"lade volume ls": `  lade volume ls
  lade volume ls -q`,
	"lade volume prune": `  lade volume prune -f
  lade volume prune -a -f`,
	"lade volume rm": `  lade volume rm data`,
	"lade wait":      `  lade wait web`,
	"lade docs":      `  lade docs man /usr/local/share/man/man1`,

	// Commands of issue 18 other changes add: their examples wait here.
	"lade attach": `  lade attach web
  lade attach --detach-keys ctrl-x web`,
	"lade commit": `  lade commit web app:snapshot
  lade commit -m "add config" -c 'CMD ["serve"]' web app:2`,
	"lade cp": `  lade cp web:/etc/hosts ./hosts
  lade cp ./config.json web:/app/
  tar -c dir | lade cp - web:/tmp`,
	"lade create": `  lade create --name web -p 8080:80 nginx
  lade start -a web`,
	"lade diff": `  lade diff web`,
	"lade events": `  lade events --since 10m --until 0s
  lade events --filter type=container --format '{{json .}}'`,
	"lade export": `  lade export web > web.tar
  lade export -o web.tar web`,
	"lade pause":   `  lade pause web`,
	"lade unpause": `  lade unpause web`,
	"lade rename":  `  lade rename web frontend`,
	"lade stats": `  lade stats
  lade stats --no-stream web`,
	"lade top": `  lade top web
  lade top web -o pid,args`,
	"lade update": `  lade update -m 1g --cpus 2 web
  lade update --restart unless-stopped web`,
	"lade system events": `  lade system events --since 1h`,
	"lade system info":   `  lade system info --format '{{.Driver}}'`,
	"lade docs man":      `  lade docs man docs/man`,
}

// applyExamples fills the Example of every command under c that has none.
func applyExamples(c *cobra.Command) {
	if c.Example == "" {
		c.Example = examples[c.CommandPath()]
	}
	for _, sub := range c.Commands() {
		applyExamples(sub)
	}
}

// memberExample is the top-level command top's example as namespace
// member path spells it: "lade images" becomes "lade image ls".
func memberExample(root *cobra.Command, top, path string) string {
	t := subcommand(root, top)
	if t == nil {
		return ""
	}
	lines := strings.Split(t.Example, "\n")
	for i, l := range lines {
		rest, ok := strings.CutPrefix(strings.TrimSpace(l), "lade "+top)
		if ok && (rest == "" || rest[0] == ' ') {
			lines[i] = "  " + path + rest
		}
	}
	return strings.Join(lines, "\n")
}
