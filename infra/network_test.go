package infra

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
)

func TestNetwork(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		vpc := r.one(t, tVpc, "registry")
		if got, want := vpc.InputString("cidrBlock"), r.config("vpcCidr"); got != want {
			t.Errorf("VPC CIDR %q, want the stack's vpcCidr %q", got, want)
		}
		for _, k := range []string{"enableDnsHostnames", "enableDnsSupport"} {
			if v, _ := vpc.Input(k); v != true {
				t.Errorf("VPC %s = %v (ECR, S3 and Secrets Manager endpoints need DNS)", k, v)
			}
		}
		r.one(t, tInternetGateway, "registry")
	})
}

// The subnets are the README's: per AZ, in two distinct AZs, a private /26 and a public /27 of the
// VPC (for a /24), none overlapping, each with its own route table.
func TestSubnetsSpanTwoAZsWithTheDocumentedCidrs(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		vpc := netip.MustParsePrefix(r.config("vpcCidr"))
		if got := len(r.ByType(tSubnet)); got != 4 {
			t.Fatalf("%d subnets, want 2 public and 2 private", got)
		}
		var seen []netip.Prefix
		for kind, bits := range map[string]int{"public": 27, "private": 26} {
			zones := map[string]bool{}
			for n := 1; n <= 2; n++ {
				name := fmt.Sprintf("registry-%s-%d", kind, n)
				sub := r.one(t, tSubnet, name)
				cidr := netip.MustParsePrefix(sub.InputString("cidrBlock"))
				if cidr.Bits() != bits+vpc.Bits()-24 || !vpc.Contains(cidr.Addr()) {
					t.Errorf("%s CIDR %s, want a /%d inside %s", name, cidr, bits+vpc.Bits()-24, vpc)
				}
				for _, other := range seen {
					if other.Overlaps(cidr) {
						t.Errorf("%s CIDR %s overlaps %s", name, cidr, other)
					}
				}
				seen = append(seen, cidr)
				zones[sub.InputString("availabilityZone")] = true
				assoc := r.one(t, tRouteAssoc, name+"-routes")
				if !slices.Contains(assoc.DependsOn, name) || !slices.Contains(assoc.DependsOn, name+"-routes") {
					t.Errorf("%s is not associated with its own route table: %v", name, assoc.DependsOn)
				}
			}
			if len(zones) != 2 || zones[""] {
				t.Errorf("%s subnets are in AZs %v, want two distinct ones", kind, zones)
			}
		}
		if r.Stack == "dev" {
			// The documented split of the committed /24.
			for name, want := range map[string]string{
				"registry-private-1": "172.29.0.0/26", "registry-public-1": "172.29.0.64/27",
				"registry-private-2": "172.29.0.128/26", "registry-public-2": "172.29.0.192/27",
			} {
				if got := r.one(t, tSubnet, name).InputString("cidrBlock"); got != want {
					t.Errorf("%s CIDR %s, want %s", name, got, want)
				}
			}
		}
	})
}

// Public subnets route to the internet through the internet gateway; private ones through a NAT
// gateway (their AZ's with OnePerAz, the first AZ's with Single), each NAT with its own EIP in a
// public subnet; S3 goes through the gateway endpoint on the private route tables only.
func TestRoutesAndNatGatewaysFollowTheStrategy(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		onePerAz := r.config("natGateways") == "OnePerAz"
		wantNats := map[bool]int{true: 2, false: 1}[onePerAz]
		if got := len(r.ByType(tNatGateway)); got != wantNats {
			t.Errorf("%d NAT gateways with strategy %s, want %d", got, r.config("natGateways"), wantNats)
		}
		if got := len(r.ByType(tEip)); got != wantNats {
			t.Errorf("%d Elastic IPs, want one per NAT gateway (%d)", got, wantNats)
		}
		for n := 1; n <= wantNats; n++ {
			nat := r.one(t, tNatGateway, fmt.Sprintf("registry-nat-%d", n))
			public := fmt.Sprintf("registry-public-%d", n)
			for _, dep := range []string{public, fmt.Sprintf("registry-nat-%d-ip", n), "registry"} {
				if !slices.Contains(nat.DependsOn, dep) {
					t.Errorf("NAT gateway %d does not depend on %s (its subnet, EIP, internet gateway): %v", n, dep, nat.DependsOn)
				}
			}
			if eip := r.one(t, tEip, fmt.Sprintf("registry-nat-%d-ip", n)); eip.InputString("domain") != "vpc" {
				t.Errorf("NAT EIP domain %q, want vpc", eip.InputString("domain"))
			}
		}
		for n := 1; n <= 2; n++ {
			pub := r.one(t, tRoute, fmt.Sprintf("registry-public-%d-default", n))
			if pub.InputString("destinationCidrBlock") != "0.0.0.0/0" || pub.InputString("gatewayId") == "" ||
				!slices.Contains(pub.DependsOn, "registry") || !slices.Contains(pub.DependsOn, fmt.Sprintf("registry-public-%d-routes", n)) {
				t.Errorf("public route %d is not 0.0.0.0/0 via the internet gateway in its table: %v %v", n, pub.Inputs, pub.DependsOn)
			}
			if _, ok := pub.Input("natGatewayId"); ok {
				t.Errorf("public route %d goes through a NAT gateway", n)
			}
			priv := r.one(t, tRoute, fmt.Sprintf("registry-private-%d-default", n))
			nat := fmt.Sprintf("registry-nat-%d", map[bool]int{true: n, false: 1}[onePerAz])
			if priv.InputString("destinationCidrBlock") != "0.0.0.0/0" || priv.InputString("natGatewayId") == "" ||
				!slices.Contains(priv.DependsOn, nat) || !slices.Contains(priv.DependsOn, fmt.Sprintf("registry-private-%d-routes", n)) {
				t.Errorf("private route %d is not 0.0.0.0/0 via %s in its table: %v %v", n, nat, priv.Inputs, priv.DependsOn)
			}
			if _, ok := priv.Input("gatewayId"); ok {
				t.Errorf("private route %d goes straight to the internet gateway", n)
			}
		}

		ep := r.one(t, tVpcEndpoint, "s3-gateway")
		if ep.InputString("vpcEndpointType") != "Gateway" || ep.InputString("serviceName") != "com.amazonaws.us-east-1.s3" {
			t.Errorf("S3 endpoint: type %q service %q", ep.InputString("vpcEndpointType"), ep.InputString("serviceName"))
		}
		if rts := stringList(ep.Inputs["routeTableIds"]); len(rts) != 2 ||
			!slices.Contains(ep.DependsOn, "registry-private-1-routes") || !slices.Contains(ep.DependsOn, "registry-private-2-routes") ||
			slices.Contains(ep.DependsOn, "registry-public-1-routes") || slices.Contains(ep.DependsOn, "registry-public-2-routes") {
			t.Errorf("S3 gateway endpoint is on route tables %v (depends on %v), want the two private ones", rts, ep.DependsOn)
		}
	})
}
