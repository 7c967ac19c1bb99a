package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/Sage-Bionetworks/synapse-docker-registry/infra"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synth"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// stack is this program's configuration as `pulumi config set` would leave it, with a token-signing
// certificate of the kind Synapse uses (ECDSA P-256).
func stack(t *testing.T) *synth.StackConfig {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "token-signing"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &synth.StackConfig{
		Project: "two-registries", Stack: "test",
		Config: map[string]string{
			"aws:region": "us-east-1",
			"two-registries:tokenSigningCertificates": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
			"two-registries:notificationAuth":         base64.StdEncoding.EncodeToString([]byte("notifier:example-password")),
			"two-registries:image":                    "123456789012.dkr.ecr.us-east-1.amazonaws.com/registry@sha256:" + strings.Repeat("ab", 32),
		},
		SecretKeys: []string{"two-registries:notificationAuth"},
	}
}

// Two registries in one program: no URN and no physical name is shared, each child is its own
// registry's, and each registry's AWS resources go through an AWS provider.
func TestTwoRegistriesInOneProgram(t *testing.T) {
	res, err := synth.Run(program, stack(t))
	if err != nil {
		t.Fatal(err) // a shared URN fails here: "Duplicate resource URN"
	}
	children := map[string]int{}
	urns := map[string]bool{}
	physical := map[string]string{} // type + physical name -> URN
	for _, r := range res.Resources {
		if urns[r.URN] {
			t.Errorf("URN %s declared twice", r.URN)
		}
		urns[r.URN] = true
		if r.Type == infra.ComponentType || r.Parent == "" {
			continue
		}
		if r.Type != "pulumi:providers:aws" {
			children[r.Parent]++
		}
		if !strings.HasPrefix(r.Name, r.Parent+"-") {
			t.Errorf("%s is %s's child but not named after it", r.URN, r.Parent)
		}
		// Explicit names, and the auto-names the provider derives from the logical name.
		for _, key := range []string{"name", "family", "dashboardName", "bucket"} {
			if v := r.InputString(key); v != "" && !(key == "bucket" && r.Type != "aws:s3/bucketV2:BucketV2") && !(key == "name" && strings.HasPrefix(r.Type, "aws:iam/rolePolicy:")) {
				id := r.Type + " " + key + "=" + v
				if other, dup := physical[id]; dup {
					t.Errorf("%s and %s are both named %q", other, r.URN, v)
				}
				physical[id] = r.URN
			}
		}
		if strings.HasPrefix(r.Type, "aws:") && r.Provider == "" {
			t.Errorf("%s has no explicit AWS provider", r.URN)
		}
	}
	if len(children) != 2 || children["staging"] == 0 || children["staging"] != children["loadtest"] {
		t.Errorf("children per registry %v, want the same resources under staging and loadtest", children)
	}
	for _, r := range res.Resources {
		switch {
		case r.Parent == "staging" && strings.HasPrefix(r.Type, "aws:") && r.Provider != "aws":
			t.Errorf("%s: provider %q, want the program's (passed with pulumi.Providers)", r.URN, r.Provider)
		case r.Parent == "loadtest" && strings.HasPrefix(r.Type, "aws:") && r.Provider != "loadtest-aws":
			t.Errorf("%s: provider %q, want the one loadtest created under itself", r.URN, r.Provider)
		}
	}
	for _, name := range []string{"/ecs/two-registries/test/staging", "/ecs/two-registries/test/loadtest"} {
		if _, ok := physical["aws:cloudwatch/logGroup:LogGroup name="+name]; !ok {
			t.Errorf("no log group %s", name)
		}
	}
}

// Args built in code are validated like a stack's configuration: every problem at once, nothing
// declared.
func TestArgsBuiltInCodeAreValidated(t *testing.T) {
	var declared []string
	_, err := synth.Run(func(ctx *pulumi.Context) error {
		args := &infra.DockerRegistryArgs{Project: ctx.Project(), Stack: ctx.Stack(), Region: "us-east-1"}
		_, err := infra.NewDockerRegistry(ctx, "incomplete", args)
		return err
	}, stack(t), synth.WithResourceMock(infra.ComponentType, func(r *synth.MockResource) error {
		declared = append(declared, r.Name)
		return nil
	}))
	var problems *infra.ConfigError
	if !errors.As(err, &problems) {
		t.Fatalf("error %v, want the configuration problems", err)
	}
	for _, field := range []string{"registryHost", "notificationAuth", "vpcCidr", "architecture"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("the error does not name %s:\n%v", field, err)
		}
	}
	if len(problems.Problems) < 4 {
		t.Errorf("%d problems reported, want every one at once:\n%v", len(problems.Problems), err)
	}
	if len(declared) != 0 {
		t.Errorf("declared %v despite the problems", declared)
	}
}
