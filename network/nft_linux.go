package network

import (
	"fmt"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// syncRules makes table (family ip) hold exactly the rules the networks
// need, in one atomic batch:
//
//   - forward: traffic between two different bridges of the root is
//     dropped (isolation); an internal network's traffic leaving or
//     entering its bridge from elsewhere is dropped.
//   - postrouting: a non-internal network's traffic leaving by another
//     interface than its bridge is masqueraded (outbound NAT).
func syncRules(table string, nets []*Network) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	return writeRules(c, table, nets)
}

// ensureRules is syncRules when the table is missing or holds another
// number of rules than nets need (someone flushed or changed it); a
// commit costs an RCU grace period (~10 ms), a look much less.
func ensureRules(table string, nets []*Network) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	t := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: table}
	have := 0
	for _, chain := range []string{"forward", "postrouting"} {
		rules, err := c.GetRules(t, &nftables.Chain{Name: chain, Table: t})
		if err != nil {
			return writeRules(c, table, nets)
		}
		have += len(rules)
	}
	if have == ruleCount(nets) {
		return nil
	}
	return writeRules(c, table, nets)
}

// ruleCount is how many rules writeRules writes for nets.
func ruleCount(nets []*Network) int {
	n := len(nets) * (len(nets) - 1) // isolation, pairwise
	for _, nw := range nets {
		n++ // masquerade, or an internal network's first drop
		if nw.Internal {
			n++
		}
	}
	return n
}

func writeRules(c *nftables.Conn, table string, nets []*Network) error {
	t := c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: table})
	c.FlushTable(t)
	fwd := c.AddChain(&nftables.Chain{
		Name: "forward", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter,
	})
	post := c.AddChain(&nftables.Chain{
		Name: "postrouting", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource,
	})
	for _, n := range nets {
		for _, m := range nets {
			if m != n {
				c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: rule(ifMatch(expr.MetaKeyIIFNAME, n.Bridge, true), ifMatch(expr.MetaKeyOIFNAME, m.Bridge, true), drop())})
			}
		}
		if n.Internal {
			c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: rule(ifMatch(expr.MetaKeyIIFNAME, n.Bridge, true), ifMatch(expr.MetaKeyOIFNAME, n.Bridge, false), drop())})
			c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: rule(ifMatch(expr.MetaKeyOIFNAME, n.Bridge, true), ifMatch(expr.MetaKeyIIFNAME, n.Bridge, false), drop())})
			continue
		}
		c.AddRule(&nftables.Rule{Table: t, Chain: post, Exprs: rule(saddrIn(n), ifMatch(expr.MetaKeyOIFNAME, n.Bridge, false), []expr.Any{&expr.Masq{}})})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables table %s: %w", table, err)
	}
	return nil
}

// deleteTable removes table; a missing one is fine.
func deleteTable(table string) error {
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
