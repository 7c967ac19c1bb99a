package registryconfig

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// TLSValidity is how long the generated TLS certificate is valid. The load
// balancer does not verify target certificates; the validity only has to
// outlast the task.
const TLSValidity = 366 * 24 * time.Hour

// GenerateTLS makes a fresh RSA-2048 key and a self-signed certificate for the
// given host names and IP addresses. The key exists only in memory and in the
// returned PEM; RSA because every TLS client (the load balancer's included)
// accepts it.
func GenerateTLS(hosts []string, now time.Time) (certPEM, keyPEM []byte, cert *x509.Certificate, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: firstOr(hosts, "registry"), Organization: []string{"synapse-docker-registry (self-signed, per task)"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(TLSValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !ip.IsUnspecified() {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, cert, nil
}

func firstOr(s []string, def string) string {
	if len(s) > 0 && s[0] != "" {
		return s[0]
	}
	return def
}

// Prepared is the result of Prepare: the files written and what they hold.
type Prepared struct {
	Paths Paths
	// TLSCertificate is this start's self-signed certificate (also in
	// Paths.TLSCert); clients that talk to the registry directly trust it.
	TLSCertificate *x509.Certificate
	// KeyIDs lists, per token-signing certificate, the libtrust-style key id
	// and the RFC 7638 thumbprint the registry trusts.
	KeyIDs [][2]string
	// Config is the registry configuration written to Paths.Config.
	Config []byte
}

// Prepare writes everything the registry needs into the scratch directory
// (created with mode 0700, every file 0600): a fresh TLS key and certificate,
// the token-signing certificate bundle (rootcertbundle), the JWKS with both key
// ids per certificate, and the configuration.
func Prepare(s *Settings, now time.Time) (*Prepared, error) {
	paths := PathsIn(s.ScratchDir)
	if err := os.MkdirAll(paths.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("%s %q: cannot create the directory: %w", EnvScratchDir, paths.Dir, err)
	}
	// Tighten a directory that already existed (ours); a mounted volume we do
	// not own keeps its mode, and the files themselves are 0600 anyway.
	_ = os.Chmod(paths.Dir, 0o700)

	hostname, _ := os.Hostname()
	certPEM, keyPEM, cert, err := GenerateTLS(s.TLSHosts(hostname), now)
	if err != nil {
		return nil, fmt.Errorf("generating the TLS key and certificate: %w", err)
	}
	var bundle bytes.Buffer
	var keyIDs [][2]string
	for _, c := range s.TokenCertificates {
		if err := pem.Encode(&bundle, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}); err != nil {
			return nil, err
		}
		libtrust, thumbprint, err := TokenKeyIDs(c)
		if err != nil {
			return nil, err
		}
		keyIDs = append(keyIDs, [2]string{libtrust, thumbprint})
	}
	jwks, err := BuildJWKS(s.TokenCertificates)
	if err != nil {
		return nil, err
	}
	cfg, err := s.RegistryConfig(paths)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		path string
		data []byte
	}{
		{paths.TLSKey, keyPEM},
		{paths.TLSCert, certPEM},
		{paths.RootCertBundle, bundle.Bytes()},
		{paths.JWKS, jwks},
		{paths.Config, cfg},
	} {
		if err := writePrivateFile(f.path, f.data); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvScratchDir, err)
		}
	}
	return &Prepared{Paths: paths, TLSCertificate: cert, KeyIDs: keyIDs, Config: cfg}, nil
}

// writePrivateFile replaces path with data, mode 0600, atomically (a file from a
// previous start is never left half-written or readable by others).
func writePrivateFile(path string, data []byte) error {
	dir, base := filepath.Split(path)
	f, err := os.CreateTemp(dir, "."+base+".*")
	if err != nil {
		return fmt.Errorf("cannot write in %q: %w", dir, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ExecEnv returns the environment for the registry process: environ without the
// SYNAPSE_REGISTRY_* variables (among them the two secrets, which are in the
// 0600 configuration file instead) and without REGISTRY_* variables, which the
// registry would apply as overrides of the generated configuration. It returns
// the names of the REGISTRY_* variables it dropped. OTEL_TRACES_EXPORTER
// defaults to "none" so the registry does not try to export traces to an
// OpenTelemetry collector that is not there. GOMEMLIMIT follows the memory limit
// of the container whose cgroup files are under cgroupRoot ("/" in the image; see
// WithGoMemLimit); goMemLimit says what was decided, for the startup log.
func ExecEnv(environ []string, cgroupRoot string) (env, droppedOverrides []string, goMemLimit string) {
	env, droppedOverrides = execEnv(environ)
	limit, source := MemoryLimit(cgroupRoot)
	env, goMemLimit = WithGoMemLimit(env, limit, source)
	return env, droppedOverrides, goMemLimit
}

func execEnv(environ []string) (env []string, droppedOverrides []string) {
	hasOTEL := false
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, Prefix):
			continue
		case strings.HasPrefix(name, "REGISTRY_"):
			droppedOverrides = append(droppedOverrides, name)
			continue
		case name == "OTEL_TRACES_EXPORTER":
			hasOTEL = true
		}
		env = append(env, kv)
	}
	if !hasOTEL {
		env = append(env, "OTEL_TRACES_EXPORTER=none")
	}
	return env, droppedOverrides
}

// RegistryArgs is the command line that starts the registry with the
// configuration in paths.
func (s *Settings) RegistryArgs(paths Paths) []string {
	return []string{s.Binary, "serve", paths.Config}
}
