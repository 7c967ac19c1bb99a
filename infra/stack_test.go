package infra

import (
	"strconv"
	"strings"
	"testing"
)

// Prod differs from dev where it must.
func TestProdIsSaferThanDev(t *testing.T) {
	dev, prod := stackRun(t, "dev"), stackRun(t, "prod")
	if dev.config("protect") != "false" || prod.config("protect") != "true" {
		t.Error("prod must be protected, dev not")
	}
	if a, b := dev.config("vpcCidr"), prod.config("vpcCidr"); a == b {
		t.Errorf("dev and prod share the CIDR %s", a)
	}
	if prod.config("natGateways") != "OnePerAz" {
		t.Error("prod must survive the loss of an AZ's NAT gateway")
	}
	devLogs, _ := dev.one(t, tLoadBalancer, "registry").Input("accessLogs")
	prodLogs, _ := prod.one(t, tLoadBalancer, "registry").Input("accessLogs")
	if devLogs != nil || prodLogs == nil {
		t.Error("access logs: prod on, dev off")
	}
	min, _ := strconv.Atoi(prod.config("minCount"))
	if min < 2 {
		t.Errorf("prod min tasks %d", min)
	}
	if dev.config("registryHost") == prod.config("registryHost") || dev.config("tokenSigningCertificates") == prod.config("tokenSigningCertificates") {
		t.Error("dev and prod must not share host or signing certificates")
	}
}

func TestDefaultTagsReachEveryResource(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		p := r.one(t, tProvider, "aws")
		want := map[string]string{
			"CostCenter": "Platform Infrastructure / 990300", "OwnerEmail": "synapseeng@sagebase.org",
			"Project": project, "Stack": r.Stack,
		}
		for k, v := range want {
			if got := p.InputString("defaultTags.tags." + k); got != v {
				t.Errorf("default tag %s = %q, want %q", k, got, v)
			}
		}
		if p.InputString("region") != "us-east-1" {
			t.Errorf("provider region %q", p.InputString("region"))
		}
		for _, res := range r.Resources {
			if strings.HasPrefix(res.Type, "aws:") && res.Provider != "aws" {
				t.Errorf("%s %s uses provider %q, not the tagged one", res.Type, res.Name, res.Provider)
			}
			if res.Type != tComponent && res.Type != tProvider && res.Parent == "" {
				t.Errorf("%s %s is outside the stack's component", res.Type, res.Name)
			}
		}
	})
}
