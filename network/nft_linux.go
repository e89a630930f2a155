package network

import (
	"fmt"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// nftRule is one rule of a root's table: its chain, a tag that names it
// (kept as the rule's user data, so ensureRules sees which rules the table
// holds) and its expressions.
type nftRule struct {
	chain, tag string
	exprs      []expr.Any
}

// baseChains are the table's base baseChains: forward (isolation), postrouting
// (masquerade), and prerouting and output (published ports' DNAT).
var baseChains = []nftables.Chain{
	{Name: "forward", Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter},
	{Name: "postrouting", Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource},
	{Name: "prerouting", Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest},
	{Name: "output", Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest},
}

// syncRules makes table (family ip) hold exactly the rules st needs, in
// one atomic batch (see wantRules); iptables chains where the kernel has
// no nf_tables.
func syncRules(table string, st *state) error {
	return withFallback(func() error { return syncNFT(table, st) }, func() error { return syncIPTables(table, st) })
}

func syncNFT(table string, st *state) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	return writeRules(c, table, wantRules(st))
}

// ensureRules is syncRules when the table's rules are not those st needs
// (someone flushed or changed it, or endpoints with ports came or went);
// a commit costs an RCU grace period (~10 ms), a look much less. The
// iptables fallback always writes.
func ensureRules(table string, st *state) error {
	return withFallback(func() error { return ensureNFT(table, st) }, func() error { return syncIPTables(table, st) })
}

func ensureNFT(table string, st *state) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	want := wantRules(st)
	t := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: table}
	var have []string
	for _, ch := range baseChains {
		rules, err := c.GetRules(t, &nftables.Chain{Name: ch.Name, Table: t})
		if err != nil {
			return writeRules(c, table, want)
		}
		for _, r := range rules {
			have = append(have, string(r.UserData))
		}
	}
	tags := make([]string, len(want))
	for i, r := range want {
		tags[i] = r.tag
	}
	slices.Sort(have)
	slices.Sort(tags)
	if slices.Equal(have, tags) {
		return nil
	}
	return writeRules(c, table, want)
}

// wantRules are the rules of st's networks and published ports:
//
//   - forward: traffic between two different bridges of the root is
//     dropped (isolation); an internal network's traffic leaving or
//     entering its bridge from elsewhere is dropped.
//   - postrouting: a non-internal network's traffic leaving by another
//     interface than its bridge is masqueraded (outbound NAT).
//   - prerouting, output: published ports (dnatRules).
func wantRules(st *state) []nftRule {
	var out []nftRule
	nets := st.Networks
	for _, n := range nets {
		for _, m := range nets {
			if m != n {
				out = append(out, nftRule{"forward", "isolate " + n.Bridge + " " + m.Bridge,
					rule(ifMatch(expr.MetaKeyIIFNAME, n.Bridge, true), ifMatch(expr.MetaKeyOIFNAME, m.Bridge, true), drop())})
			}
		}
		if n.Internal {
			out = append(out,
				nftRule{"forward", "internal-out " + n.Bridge, rule(ifMatch(expr.MetaKeyIIFNAME, n.Bridge, true), ifMatch(expr.MetaKeyOIFNAME, n.Bridge, false), drop())},
				nftRule{"forward", "internal-in " + n.Bridge, rule(ifMatch(expr.MetaKeyOIFNAME, n.Bridge, true), ifMatch(expr.MetaKeyIIFNAME, n.Bridge, false), drop())})
			continue
		}
		out = append(out, nftRule{"postrouting", "masquerade " + n.Bridge,
			rule(saddrIn(n), ifMatch(expr.MetaKeyOIFNAME, n.Bridge, false), []expr.Any{&expr.Masq{}})})
	}
	return append(out, dnatRules(st)...)
}

func writeRules(c *nftables.Conn, table string, rules []nftRule) error {
	t := c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: table})
	c.FlushTable(t)
	byName := map[string]*nftables.Chain{}
	for _, ch := range baseChains {
		ch.Table = t
		byName[ch.Name] = c.AddChain(&ch)
	}
	for _, r := range rules {
		c.AddRule(&nftables.Rule{Table: t, Chain: byName[r.chain], Exprs: r.exprs, UserData: []byte(r.tag)})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables table %s: %w", table, err)
	}
	return nil
}

// deleteTable removes table (or the fallback's chains); a missing one is
// fine.
func deleteTable(table string) error {
	return withFallback(func() error { return deleteNFT(table) }, func() error { return deleteIPTables(table) })
}

func deleteNFT(table string) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	if !slices.ContainsFunc(tables, func(t *nftables.Table) bool { return t.Name == table }) {
		return nil
	}
	c.DelTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: table})
	if err := c.Flush(); err != nil {
		return fmt.Errorf("deleting nftables table %s: %w", table, err)
	}
	return nil
}

func rule(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// ifMatch matches the input or output interface name being (eq) or not
// being name.
func ifMatch(key expr.MetaKey, name string, eq bool) []expr.Any {
	op := expr.CmpOpEq
	if !eq {
		op = expr.CmpOpNeq
	}
	data := make([]byte, 16) // IFNAMSIZ, zero padded
	copy(data, name)
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: data},
	}
}

// saddrIn matches an IPv4 source address in n's subnet.
func saddrIn(n *Network) []expr.Any {
	mask := ipNet(n.Gateway, n.Subnet.Bits()).Mask
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: n.Subnet.Addr().AsSlice()},
	}
}

func drop() []expr.Any { return []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}} }
