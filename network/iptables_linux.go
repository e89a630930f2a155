package network

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"golang.org/x/sys/unix"
)

// Where the kernel has no nf_tables, the root's rules are iptables rules
// instead (docker's way): chains of the root's own, named after its table,
// rewritten whole with iptables-restore --noflush and jumped to from the
// built-in chains. iptables is iptables-legacy where installed (the nft
// backend needs nf_tables too), else iptables.
var (
	iptablesBin   = ""    // "" picks; tests set iptables
	forceIPTables = false // tests
)

// withFallback runs nft, or where the kernel has no nf_tables, ipt.
func withFallback(nft, ipt func() error) error {
	if forceIPTables {
		return ipt()
	}
	err := nft()
	if noNFTables(err) {
		return ipt()
	}
	return err
}

// noNFTables says whether err means the kernel has no nf_tables.
func noNFTables(err error) bool {
	return errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.EAFNOSUPPORT) || errors.Is(err, unix.EOPNOTSUPP)
}

func iptables() (string, error) {
	if iptablesBin != "" {
		return iptablesBin, nil
	}
	for _, b := range []string{"iptables-legacy", "iptables"} {
		if p, err := exec.LookPath(b); err == nil {
			return p, nil
		}
	}
	return "", errors.New("the kernel has no nf_tables and iptables is not installed (apt-get install iptables)")
}

// ipChain is the root's chain for a built-in chain of a table.
type ipChain struct{ table, builtin, suffix string }

var ipChains = []ipChain{
	{"filter", "FORWARD", "FWD"},
	{"nat", "POSTROUTING", "POST"},
	{"nat", "PREROUTING", "PRE"},
	{"nat", "OUTPUT", "OUT"},
}

func (c ipChain) name(table string) string {
	return strings.ToUpper(table) + "-" + c.suffix
}

// syncIPTables writes the rules st needs into the root's chains and makes
// sure the built-in chains jump to them.
func syncIPTables(table string, st *state) error {
	bin, err := iptables()
	if err != nil {
		return err
	}
	cmd := exec.Command(bin+"-restore", "--noflush")
	cmd.Stdin = strings.NewReader(ipRestore(table, st))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("iptables-restore: %v: %s", err, bytes.TrimSpace(out))
	}
	for _, c := range ipChains {
		jump := []string{"-t", c.table, "-C", c.builtin, "-j", c.name(table)}
		if exec.Command(bin, jump...).Run() == nil {
			continue
		}
		jump[2] = "-I"
		if out, err := exec.Command(bin, jump...).CombinedOutput(); err != nil {
			return fmt.Errorf("iptables %s: %v: %s", strings.Join(jump, " "), err, bytes.TrimSpace(out))
		}
	}
	return nil
}

// ipRestore is the iptables-restore input that makes the root's chains
// hold st's rules, the same as wantRules' in nftables.
func ipRestore(table string, st *state) string {
	var b strings.Builder
	ch := func(i int) string { return ipChains[i].name(table) }
	fmt.Fprintf(&b, "*filter\n:%s - [0:0]\n-F %[1]s\n", ch(0))
	for _, n := range st.Networks {
		for _, m := range st.Networks {
			if m != n {
				fmt.Fprintf(&b, "-A %s -i %s -o %s -j DROP\n", ch(0), n.Bridge, m.Bridge)
			}
		}
		if n.Internal {
			fmt.Fprintf(&b, "-A %s -i %s ! -o %[2]s -j DROP\n-A %[1]s -o %[2]s ! -i %[2]s -j DROP\n", ch(0), n.Bridge)
		}
	}
	b.WriteString("COMMIT\n*nat\n")
	for i := 1; i < len(ipChains); i++ {
		fmt.Fprintf(&b, ":%s - [0:0]\n-F %[1]s\n", ch(i))
	}
	for _, n := range st.Networks {
		if !n.Internal {
			fmt.Fprintf(&b, "-A %s -s %s ! -o %s -j MASQUERADE\n", ch(1), n.Subnet, n.Bridge)
		}
	}
	// Connections from containers are the proxy's (see dnatRules).
	fmt.Fprintf(&b, "-A %s -i lade+ -j RETURN\n-A %[1]s -i br-+ -j RETURN\n", ch(2))
	st.eachDNAT(func(e *Endpoint, p PortMap) {
		dst := "-d " + p.HostIP
		if p.HostIP == "" || p.HostIP == "0.0.0.0" {
			dst = "-m addrtype --dst-type LOCAL"
		}
		dnat := fmt.Sprintf("-p %s --dport %d -j DNAT --to-destination %s:%d", p.Proto, p.HostPort, e.IP, p.Port)
		fmt.Fprintf(&b, "-A %s %s %s\n-A %s ! -d 127.0.0.0/8 %s %s\n", ch(2), dst, dnat, ch(3), dst, dnat)
	})
	b.WriteString("COMMIT\n")
	return b.String()
}

// deleteIPTables removes the root's chains and the jumps to them.
func deleteIPTables(table string) error {
	bin, err := iptables()
	if err != nil {
		return err
	}
	for _, c := range ipChains {
		for range 10 { // one jump, unless someone added more
			if exec.Command(bin, "-t", c.table, "-D", c.builtin, "-j", c.name(table)).Run() != nil {
				break
			}
		}
		_ = exec.Command(bin, "-t", c.table, "-F", c.name(table)).Run()
		_ = exec.Command(bin, "-t", c.table, "-X", c.name(table)).Run()
	}
	return nil
}
