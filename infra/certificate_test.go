package infra

import (
	"slices"
	"testing"
)

func TestCertificateValidatedInHostedZone(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		cert := r.one(t, tCertificate, "registry")
		if cert.InputString("domainName") != r.config("registryHost") || cert.InputString("validationMethod") != "DNS" {
			t.Errorf("certificate for %q by %q", cert.InputString("domainName"), cert.InputString("validationMethod"))
		}
		rec := r.one(t, tRecord, "registry-certificate-validation")
		if rec.InputString("type") != "CNAME" || rec.InputString("zoneId") == "" {
			t.Errorf("validation record %v", rec.Inputs)
		}
		val := r.one(t, tCertValidation, "registry")
		https := r.one(t, tListener, "https")
		if !slices.Contains(https.DependsOn, val.Name) {
			t.Errorf("the HTTPS listener must use the validated certificate (depends on %v)", https.DependsOn)
		}
		if _, ok := r.Get(tRecord, "registry-alias"); ok {
			t.Error("the stack files leave DNS to the cut-over (createDnsRecord false)")
		}
	})
}

func TestExistingCertificateAndAliasRecord(t *testing.T) {
	arn := "arn:aws:acm:us-east-1:123456789012:certificate/0b5e7a51-7c5f-4f1a-9a55-8a0c5ffd1c2a"
	r := withOverrides(t, "prod", map[string]string{"certificateArn": arn, "createDnsRecord": "true"})
	if len(r.ByType(tCertificate)) != 0 {
		t.Error("with certificateArn no certificate is requested")
	}
	if got := r.one(t, tListener, "https").InputString("certificateArn"); got != arn {
		t.Errorf("listener certificate %q", got)
	}
	alias := r.one(t, tRecord, "registry-alias")
	if !alias.RetainOnDelete {
		t.Error("turning createDnsRecord off must not delete the live record")
	}
	if alias.InputString("name") != "docker.synapse.org" || alias.InputString("type") != "A" {
		t.Errorf("alias record %v", alias.Inputs)
	}
	if alias.InputString("aliases[0].name") != r.outputs["albDnsName"] || alias.InputString("aliases[0].zoneId") == "" {
		t.Errorf("alias points at %q, ALB is %q", alias.InputString("aliases[0].name"), r.outputs["albDnsName"])
	}
}
