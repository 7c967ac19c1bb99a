package infra

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"time"

	"net/netip"
	"os"
	"strings"
	"testing"
)

// validArgs are dev's arguments built in code, as another program would build them.
func validArgs(t *testing.T) *DockerRegistryArgs {
	t.Helper()
	pemText, err := os.ReadFile("../image/registryconfig/testdata/token-signing-dev.pem")
	if err != nil {
		t.Fatal(err)
	}
	return &DockerRegistryArgs{
		Project: project, Stack: "dev", Region: "us-east-1",
		CostCenter: "Platform Infrastructure / 990300", OwnerEmail: "synapseeng@sagebase.org",
		Network: NetworkConfig{VpcCidr: netip.MustParsePrefix("172.29.0.0/24"), NatGateways: NatSingle},
		Storage: StorageConfig{ExistingBucketName: "dev-docker-registry.sagebase.org", AbortIncompleteUploadDays: 7},
		Registry: RegistryConfig{
			Host:                     "dev-docker-registry.dev.sagebase.org",
			TokenRealm:               "https://repo-dev.dev.sagebase.org/docker/v1/bearerToken",
			TokenIssuer:              "www.synapse.org",
			TokenSigningCertificates: string(pemText),
			NotificationURL:          "https://repo-dev.dev.sagebase.org/dockerRegistryListener/v1/events",
			NotificationAuth:         pulumi.ToSecret(pulumi.String("ZGV2OmRldi1wYXNzd29yZA==")).(pulumi.StringOutput),
		},
		Image:   ImageConfig{KeepImages: 20},
		DNS:     DNSConfig{HostedZoneName: "dev.sagebase.org"},
		Service: ServiceConfig{CPU: 1024, Memory: 2048, Architecture: ARM64, DesiredCount: 1, MinCount: 1, MaxCount: 2, LogRetentionDays: 30, RequestsPerTarget: 1000},
	}
}

func validateProblems(t *testing.T, a *DockerRegistryArgs) []string {
	t.Helper()
	err := a.Validate()
	if err == nil {
		return nil
	}
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("Validate returned %T %v, want *ConfigError", err, err)
	}
	return ce.Problems
}

func TestValidateAcceptsValidArgs(t *testing.T) {
	if p := validateProblems(t, validArgs(t)); len(p) != 0 {
		t.Fatalf("valid arguments refused:\n%s", strings.Join(p, "\n"))
	}
}

// Arguments built in code get every check LoadConfig applies, all reported at once, in the same
// format (key and fix).
func TestValidateReportsEveryProblemOfArgsBuiltInCode(t *testing.T) {
	a := validArgs(t)
	a.Protect = true
	a.Region = "moon-1"
	a.OwnerEmail = "nobody"
	a.Network.VpcCidr = netip.MustParsePrefix("172.29.0.7/24")
	a.Network.NatGateways = "None"
	a.Registry.TokenRealm = "http://repo-dev.dev.sagebase.org/docker/v1/bearerToken"
	a.Registry.NotificationURL = ""
	a.Registry.TokenSigningCertificates = "hello"
	a.Service.CPU, a.Service.Memory = 256, 4096
	a.Service.Architecture = "MIPS"
	a.Service.LogRetentionDays = 42
	a.Alarms.Emails = []string{"ok@sagebase.org", "ok@sagebase.org"}
	want := map[string]string{
		"aws:region":                          `"moon-1" is not an AWS region`,
		project + ":ownerEmail":               `"nobody" is not an e-mail address`,
		project + ":vpcCidr":                  "has host bits set; use the network address 172.29.0.0/24: pulumi config set vpcCidr 172.29.0.0/24 --stack dev",
		project + ":natGateways":              `"None" is not one of OnePerAz, Single`,
		project + ":tokenRealm":               "must use https",
		project + ":notificationUrl":          "is required; set it with: pulumi config set notificationUrl",
		project + ":tokenSigningCertificates": "holds no PEM certificate",
		project + ":memory":                   "4096 MiB is not offered by Fargate with cpu 256",
		project + ":architecture":             `"MIPS" is not one of ARM64, X86_64`,
		project + ":logRetentionDays":         "42 is not a retention CloudWatch Logs accepts",
		project + ":alarmEmails":              `lists "ok@sagebase.org" twice`,
		project + ":minCount":                 "a protected (production) stack runs at least two tasks",
	}
	problems := validateProblems(t, a)
	for key, fragment := range want {
		found := false
		for _, p := range problems {
			found = found || (strings.HasPrefix(p, key+": ") && strings.Contains(p, fragment))
		}
		if !found {
			t.Errorf("no problem %s: ...%s...; got:\n%s", key, fragment, strings.Join(problems, "\n"))
		}
	}
	for _, p := range problems {
		if !strings.Contains(p, "pulumi config") {
			t.Errorf("problem without a fix: %s", p)
		}
	}
}

// Zero-valued arguments report each required value as missing, not as a crash or a pass.
func TestValidateZeroArgsNamesTheRequiredKeys(t *testing.T) {
	problems := validateProblems(t, &DockerRegistryArgs{Project: project, Stack: "dev"})
	for _, key := range []string{"aws:region", "costCenter", "ownerEmail", "vpcCidr", "registryHost", "tokenRealm", "tokenIssuer", "tokenSigningCertificates", "notificationUrl"} {
		found := false
		for _, p := range problems {
			found = found || strings.HasPrefix(p, keyOf(key)+": is required")
		}
		if !found {
			t.Errorf("missing %s not reported:\n%s", key, strings.Join(problems, "\n"))
		}
	}
}

func keyOf(name string) string {
	if strings.Contains(name, ":") {
		return name
	}
	return project + ":" + name
}

// selfSigned is a P-256 certificate valid until notAfter, as PEM.
func selfSigned(t *testing.T, cn string, notAfter time.Time) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(4242), Subject: pkix.Name{CommonName: cn},
		NotBefore: notAfter.Add(-365 * 24 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// An expired token-signing certificate is refused, naming which one and its NotAfter; one that
// is still valid, however soon it expires, is accepted (docs: README, Configuration reference).
func TestValidateRefusesAnExpiredSigningCertificate(t *testing.T) {
	expiredAt := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	a := validArgs(t)
	current := a.Registry.TokenSigningCertificates
	a.Registry.TokenSigningCertificates = current + selfSigned(t, "old.synapse.org", expiredAt)
	problems := validateProblems(t, a)
	want := project + `:tokenSigningCertificates: certificate 2 (subject "CN=old.synapse.org", serial 4242) expired on 2025-03-01T12:00:00Z (NotAfter); remove it from the bundle`
	if len(problems) != 1 || !strings.HasPrefix(problems[0], want) {
		t.Errorf("want one problem starting %q, got:\n%s", want, strings.Join(problems, "\n"))
	}

	a.Registry.TokenSigningCertificates = current + selfSigned(t, "next.synapse.org", time.Now().Add(24*time.Hour))
	if p := validateProblems(t, a); len(p) != 0 {
		t.Errorf("a certificate valid for another day was refused:\n%s", strings.Join(p, "\n"))
	}
}
