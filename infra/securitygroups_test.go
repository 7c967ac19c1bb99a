package infra

import (
	"slices"
	"testing"

	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synth"
)

func TestSecurityGroups(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		groups := map[string]string{} // logical name -> mock id
		for _, sg := range r.ByType(tSecurityGroup) {
			groups[sg.Name] = sg.Name
			if _, inline := sg.Inputs["ingress"]; inline {
				t.Errorf("security group %s has inline rules", sg.Name)
			}
		}
		type rule struct {
			group, peer string
			port        float64
		}
		var rules []rule
		for _, token := range []string{tIngress, tEgress} {
			for _, res := range r.ByType(token) {
				peer := res.InputString("cidrIpv4") + res.InputString("cidrIpv6")
				if ref := res.InputString("referencedSecurityGroupId"); ref != "" {
					peer = "sg:" + groupOf(r, res, "referencedSecurityGroupId")
				}
				from, _ := res.Input("fromPort")
				to, _ := res.Input("toPort")
				if from != to {
					t.Errorf("%s opens a port range %v-%v", res.Name, from, to)
				}
				kind := "in"
				if token == tEgress {
					kind = "out"
				}
				port, ok := number(from)
				if !ok {
					t.Errorf("%s: fromPort %s, want a port number", res.Name, show(from))
				}
				rules = append(rules, rule{group: groupOf(r, res, "securityGroupId") + "-" + kind, peer: peer, port: port})
			}
		}
		want := []rule{
			{"alb-in", "0.0.0.0/0", 443}, {"alb-in", "0.0.0.0/0", 80},
			{"alb-out", "sg:task", RegistryPort}, {"alb-out", "sg:task", HealthPort},
			{"task-in", "sg:alb", RegistryPort}, {"task-in", "sg:alb", HealthPort},
			{"task-out", "0.0.0.0/0", 443},
		}
		for _, w := range want {
			if !slices.Contains(rules, w) {
				t.Errorf("missing rule %+v", w)
			}
		}
		for _, got := range rules {
			if !slices.Contains(want, got) {
				t.Errorf("unexpected rule %+v", got)
			}
		}
	})
}

// groupOf maps a rule's security group id input back to the group's logical name (the rule
// depends on it).
func groupOf(r *run, rule synth.Resource, input string) string {
	id := rule.InputString(input)
	for _, sg := range r.ByType(tSecurityGroup) {
		if id == "sg-"+sg.Name && slices.Contains(rule.DependsOn, sg.Name) {
			return sg.Name
		}
	}
	return "unknown(" + id + ")"
}
