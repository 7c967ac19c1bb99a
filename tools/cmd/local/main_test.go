package main

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
)

// A client that trusts only the bundle (SSL_CERT_FILE for crane, certs.d/<host>/ca.crt for
// podman, whose token requests use the registry's TLS settings) accepts both the registry
// and the stand-in token service.
func TestTrustBundleHoldsTheRegistryAndTheTokenServiceCertificates(t *testing.T) {
	dir := t.TempDir()
	registryPEM, _, registryCert, err := registryconfig.GenerateTLS([]string{"localhost", "127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tokenPEM, _, tokenCert, err := registryconfig.GenerateTLS([]string{"localhost", "127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	registryFile := filepath.Join(dir, registryconfig.TLSCertFile)
	if err := os.WriteFile(registryFile, registryPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "certs.pem")
	if err := writeTrustBundle(bundle, registryFile, tokenPEM); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("the bundle holds no certificate:\n%s", b)
	}
	for name, cert := range map[string]*x509.Certificate{"registry": registryCert, "token service": tokenCert} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: "localhost"}); err != nil {
			t.Errorf("a client trusting only the bundle refuses the %s: %v", name, err)
		}
	}
}

func TestTrustBundleNamesAMissingRegistryCertificate(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "scratch", registryconfig.TLSCertFile)
	err := writeTrustBundle(filepath.Join(dir, "certs.pem"), missing, nil)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("err = %v, want one naming %s", err, missing)
	}
	notPEM := filepath.Join(dir, "tls.crt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeTrustBundle(filepath.Join(dir, "certs.pem"), notPEM, nil); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("a file without a certificate: err = %v", err)
	}
}
