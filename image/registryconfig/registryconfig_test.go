package registryconfig_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/auth"
	_ "github.com/distribution/distribution/v3/registry/auth/token"
	"github.com/go-jose/go-jose/v4"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synapsestub"
)

const (
	devKID  = "CC4F:YEUW:NYJE:6XDF:XG7U:DBOB:4P6E:PFZU:UXFA:JCPC:7EVP:IAMY"
	prodKID = "2MTZ:QH2X:J57H:MV5O:62AZ:QNI3:OMW3:FZVO:KDD6:CQMC:TO6H:64SW"
)

func readPEM(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func parseCert(t *testing.T, pemText string) *x509.Certificate {
	t.Helper()
	certs, problems := registryconfig.ParseTokenCertificates(pemText)
	if len(problems) > 0 || len(certs) != 1 {
		t.Fatalf("ParseTokenCertificates: %d certs, problems %v", len(certs), problems)
	}
	return certs[0]
}

// The known answers of docs/synapse.md ("The bearer token") for Synapse's two certificates.
func TestKnownAnswerKeyIDs(t *testing.T) {
	for file, want := range map[string]string{"token-signing-dev.pem": devKID, "token-signing-prod.pem": prodKID} {
		cert := parseCert(t, readPEM(t, file))
		got, err := registryconfig.LibtrustKeyID(cert.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: libtrust kid = %s, want %s", file, got, want)
		}
	}
}

func TestJWKSCarriesBothKeyIDsOfEveryCertificate(t *testing.T) {
	dev := parseCert(t, readPEM(t, "token-signing-dev.pem"))
	prod := parseCert(t, readPEM(t, "token-signing-prod.pem"))
	raw, err := registryconfig.BuildJWKS([]*x509.Certificate{dev, prod})
	if err != nil {
		t.Fatal(err)
	}
	// Parse it the way the registry does.
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatalf("the registry's JWKS parser rejects the JWKS: %v\n%s", err, raw)
	}
	if len(set.Keys) != 4 {
		t.Fatalf("JWKS has %d keys, want 4 (two ids per certificate)", len(set.Keys))
	}
	for _, c := range []struct {
		cert *x509.Certificate
		kid  string
	}{{dev, devKID}, {prod, prodKID}} {
		thumb, err := (&jose.JSONWebKey{Key: c.cert.PublicKey}).Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		wantThumb := base64.RawURLEncoding.EncodeToString(thumb)
		ours, err := registryconfig.JWKThumbprint(c.cert.PublicKey)
		if err != nil || ours != wantThumb {
			t.Errorf("JWKThumbprint = %q, %v; go-jose's RFC 7638 thumbprint is %q", ours, err, wantThumb)
		}
		for _, kid := range []string{c.kid, wantThumb} {
			keys := set.Key(kid)
			if len(keys) != 1 {
				t.Errorf("JWKS has %d keys with kid %q, want 1", len(keys), kid)
				continue
			}
			pub, ok := keys[0].Key.(*ecdsa.PublicKey)
			if !ok || !pub.Equal(c.cert.PublicKey) {
				t.Errorf("key %q is not the certificate's public key", kid)
			}
			if keys[0].Algorithm != "ES256" || keys[0].Use != "sig" {
				t.Errorf("key %q: alg %q use %q, want ES256 sig", kid, keys[0].Algorithm, keys[0].Use)
			}
		}
	}
}

// Coordinates with leading zero bytes must keep their full length in the JWK
// and the thumbprint (RFC 7518 6.2.1.2).
func TestJWKThumbprintPadsCoordinates(t *testing.T) {
	for i := 0; i < 2000; i++ {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if len(k.X.Bytes()) == 32 && len(k.Y.Bytes()) == 32 {
			continue
		}
		thumb, err := (&jose.JSONWebKey{Key: &k.PublicKey}).Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		got, err := registryconfig.JWKThumbprint(&k.PublicKey)
		if err != nil || got != base64.RawURLEncoding.EncodeToString(thumb) {
			t.Fatalf("short coordinate: thumbprint %q, %v; want %q", got, err, base64.RawURLEncoding.EncodeToString(thumb))
		}
		return
	}
	t.Skip("no key with a short coordinate in 2000 tries")
}

func TestVariablesContract(t *testing.T) {
	want := map[string]struct{ required, secret bool }{
		registryconfig.EnvTokenRealm:         {true, false},
		registryconfig.EnvTokenService:       {true, false},
		registryconfig.EnvTokenIssuer:        {true, false},
		registryconfig.EnvTokenCertificates:  {true, false},
		registryconfig.EnvNotificationURL:    {true, false},
		registryconfig.EnvNotificationAuth:   {true, true},
		registryconfig.EnvNotificationEvents: {false, false},
		registryconfig.EnvNotificationQueue:  {false, false},
		registryconfig.EnvNotificationDLQ:    {false, false},
		registryconfig.EnvSQSEndpoint:        {false, false},
		registryconfig.EnvRelayAddr:          {false, false},
		registryconfig.EnvNotificationRetry:  {false, false},
		registryconfig.EnvHTTPSecret:         {true, true},
		registryconfig.EnvStorage:            {false, false},
		registryconfig.EnvS3Bucket:           {true, false},
		registryconfig.EnvS3Region:           {true, false},
		registryconfig.EnvS3Endpoint:         {false, false},
		registryconfig.EnvFilesystemRoot:     {true, false},
		registryconfig.EnvRedirect:           {false, false},
		registryconfig.EnvListenAddr:         {false, false},
		registryconfig.EnvHealthAddr:         {false, false},
		registryconfig.EnvScratchDir:         {false, false},
		registryconfig.EnvBinary:             {false, false},
		registryconfig.EnvLogLevel:           {false, false},
	}
	vars := registryconfig.Variables()
	if len(vars) != len(want) {
		t.Errorf("Variables() has %d entries, want %d", len(vars), len(want))
	}
	for _, v := range vars {
		w, ok := want[v.Name]
		if !ok {
			t.Errorf("unexpected variable %s", v.Name)
			continue
		}
		if v.Required != w.required || v.Secret != w.secret {
			t.Errorf("%s: required=%v secret=%v, want %v %v", v.Name, v.Required, v.Secret, w.required, w.secret)
		}
		if !strings.HasPrefix(v.Name, registryconfig.Prefix) || v.Description == "" {
			t.Errorf("%s: needs the prefix and a description", v.Name)
		}
		if v.Required && v.Default != "" {
			t.Errorf("%s is required but has a default", v.Name)
		}
	}
	defaults := map[string]string{
		registryconfig.EnvStorage: "s3", registryconfig.EnvListenAddr: ":5000", registryconfig.EnvHealthAddr: ":5001",
		registryconfig.EnvScratchDir: "/tmp/registry", registryconfig.EnvBinary: "/bin/registry", registryconfig.EnvLogLevel: "info",
	}
	for name, d := range defaults {
		if v, _ := registryconfig.Lookup(name); v.Default != d {
			t.Errorf("%s default %q, want %q", name, v.Default, d)
		}
	}
	names := func(vs []registryconfig.Variable) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.Name)
		}
		slices.Sort(out)
		return out
	}
	wantS3 := []string{
		registryconfig.EnvHTTPSecret, registryconfig.EnvNotificationAuth, registryconfig.EnvNotificationURL,
		registryconfig.EnvS3Bucket, registryconfig.EnvS3Region, registryconfig.EnvTokenCertificates,
		registryconfig.EnvTokenIssuer, registryconfig.EnvTokenRealm, registryconfig.EnvTokenService,
	}
	slices.Sort(wantS3)
	if got := names(registryconfig.RequiredVariables(registryconfig.StorageS3)); !slices.Equal(got, wantS3) {
		t.Errorf("RequiredVariables(s3) = %v, want %v", got, wantS3)
	}
	if got := names(registryconfig.RequiredVariables(registryconfig.StorageFilesystem)); !slices.Contains(got, registryconfig.EnvFilesystemRoot) || slices.Contains(got, registryconfig.EnvS3Bucket) {
		t.Errorf("RequiredVariables(filesystem) = %v", got)
	}
	if got := names(registryconfig.SecretVariables()); !slices.Equal(got, []string{registryconfig.EnvHTTPSecret, registryconfig.EnvNotificationAuth}) {
		t.Errorf("SecretVariables() = %v", got)
	}
}

const (
	testHTTPSecret = "an-http-secret-of-more-than-32-characters"
)

var testNotificationAuth = base64.StdEncoding.EncodeToString([]byte("registry:notification-password"))

func validEnv(t *testing.T) map[string]string {
	return map[string]string{
		registryconfig.EnvTokenRealm:        "https://repo-prod.prod.sagebase.org/docker/v1/bearerToken",
		registryconfig.EnvTokenService:      "docker.synapse.org",
		registryconfig.EnvTokenIssuer:       "www.synapse.org",
		registryconfig.EnvTokenCertificates: readPEM(t, "token-signing-dev.pem") + readPEM(t, "token-signing-prod.pem"),
		registryconfig.EnvNotificationURL:   "https://repo-prod.prod.sagebase.org/dockerRegistryListener/v1/events",
		registryconfig.EnvNotificationAuth:  testNotificationAuth,
		registryconfig.EnvHTTPSecret:        testHTTPSecret,
		registryconfig.EnvS3Bucket:          "prod.docker.registry.sagebase.org",
		registryconfig.EnvS3Region:          "us-east-1",
	}
}

func environ(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

func TestParseEnvironValid(t *testing.T) {
	env := environ(validEnv(t))
	env = append(env, "PATH=/usr/bin", "UNRELATED=1")
	s, err := registryconfig.ParseEnviron(env)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.TokenCertificates) != 2 || s.Storage != "s3" || !s.Redirect || s.ListenAddr != ":5000" ||
		s.HealthAddr != ":5001" || s.ScratchDir != "/tmp/registry" || s.Binary != "/bin/registry" ||
		s.LogLevel != "info" || s.NotificationEvents != registryconfig.EventsSynapse {
		t.Errorf("unexpected settings or defaults: %+v", s)
	}
	if !s.UsePathStyle() {
		t.Error("a bucket name with dots must be addressed path-style")
	}
}

func TestParseEnvironReportsEveryMissingVariable(t *testing.T) {
	_, err := registryconfig.ParseEnviron(nil)
	var ce *registryconfig.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *ConfigError", err)
	}
	for _, v := range registryconfig.RequiredVariables(registryconfig.StorageS3) {
		found := false
		for _, p := range ce.Problems {
			if p.Variable == v.Name && strings.Contains(p.Message, "is required") && strings.Contains(p.Message, "set it to") {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem reported for missing %s in:\n%v", v.Name, err)
		}
	}
	if len(ce.Problems) != len(registryconfig.RequiredVariables(registryconfig.StorageS3)) {
		t.Errorf("%d problems, want one per required variable:\n%v", len(ce.Problems), err)
	}
}

func TestParseEnvironReportsMalformedValues(t *testing.T) {
	secretAuth := base64.StdEncoding.EncodeToString([]byte("no-colon-secret-value"))
	shortSecret := "short-secret-value"
	cases := []struct {
		name, value, want string
	}{
		{registryconfig.EnvTokenRealm, "http://repo-prod.prod.sagebase.org/docker/v1/bearerToken", "must use https"},
		{registryconfig.EnvTokenRealm, "repo-prod.prod.sagebase.org", "not an absolute https URL"},
		{registryconfig.EnvTokenService, "https://docker.synapse.org/", "not a host name"},
		{registryconfig.EnvTokenIssuer, "www synapse org", "white space"},
		{registryconfig.EnvTokenCertificates, "not pem", "holds no PEM certificate"},
		{registryconfig.EnvNotificationURL, "ftp://x/y", "must use http or https"},
		{registryconfig.EnvNotificationAuth, "%%%not-base64", "not valid base64"},
		{registryconfig.EnvNotificationAuth, secretAuth, `does not decode to "user:password"`},
		{registryconfig.EnvNotificationEvents, "some", "is not"},
		{registryconfig.EnvHTTPSecret, shortSecret, "at least 32"},
		{registryconfig.EnvStorage, "gcs", "is not"},
		{registryconfig.EnvS3Bucket, "Bad_Bucket", "not a valid S3 bucket name"},
		{registryconfig.EnvS3Region, "moon", "not an AWS region"},
		{registryconfig.EnvS3Region, "us-east-1a", "not an AWS region"}, // an availability zone, not a region
		{registryconfig.EnvS3Endpoint, "localhost:9000", "not an absolute http or https URL"},
		{registryconfig.EnvFilesystemRoot, "/data", "is set but"},
		{registryconfig.EnvRedirect, "maybe", "not one of true, false"},
		{registryconfig.EnvListenAddr, "5000", "not a listen address"},
		{registryconfig.EnvHealthAddr, ":5000", "port of its own"},
		{registryconfig.EnvScratchDir, "tmp/registry", "not an absolute path"},
		{registryconfig.EnvBinary, "registry", "not an absolute path"},
		{registryconfig.EnvLogLevel, "loud", "is not one of"},
		{registryconfig.EnvLogLevel, "trace", "use debug"},
		{registryconfig.EnvLogLevel, "warning", "use warn"},
		{"SYNAPSE_REGISTRY_S3_BUCKT", "x", "did you mean SYNAPSE_REGISTRY_S3_BUCKET"},
	}
	for _, c := range cases {
		t.Run(c.name+"="+c.value, func(t *testing.T) {
			env := validEnv(t)
			env[c.name] = c.value
			_, err := registryconfig.ParseEnviron(environ(env))
			var ce *registryconfig.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("accepted %s=%q", c.name, c.value)
			}
			if len(ce.Problems) != 1 || ce.Problems[0].Variable != c.name || !strings.Contains(ce.Problems[0].Message, c.want) {
				t.Errorf("problems %v, want exactly one for %s mentioning %q", ce.Problems, c.name, c.want)
			}
			for _, secret := range []string{secretAuth, shortSecret, testHTTPSecret, testNotificationAuth} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error message reveals a secret: %v", err)
				}
			}
		})
	}
}

func TestParseTokenCertificates(t *testing.T) {
	dev, prod := readPEM(t, "token-signing-dev.pem"), readPEM(t, "token-signing-prod.pem")
	// rotation: two certificates; duplicates collapse
	certs, problems := registryconfig.ParseTokenCertificates(dev + prod + dev)
	if len(problems) != 0 || len(certs) != 2 {
		t.Fatalf("dev+prod+dev: %d certs, problems %v", len(certs), problems)
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keyDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	privPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rsa"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	rsaDER, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &rsaKey.PublicKey, rsaKey)
	rsaPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rsaDER}))
	for _, c := range []struct{ in, want string }{
		{dev + privPEM, "a private key must never be given"},
		{rsaPEM, "does not hold an ECDSA P-256 key"},
		{strings.ReplaceAll(dev, "\n", `\n`), `literal \n`},
		{dev + "trailing junk", "text after the last PEM block"},
		{"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "cannot be parsed"},
	} {
		_, problems := registryconfig.ParseTokenCertificates(c.in)
		if len(problems) == 0 || !strings.Contains(strings.Join(problems, "\n"), c.want) {
			t.Errorf("problems %q, want one mentioning %q", problems, c.want)
		}
		if strings.Contains(strings.Join(problems, "\n"), strings.TrimSpace(strings.Split(privPEM, "\n")[1])) {
			t.Error("a problem message echoes the private key")
		}
	}
}

func settings(t *testing.T, mutate func(map[string]string)) *registryconfig.Settings {
	t.Helper()
	env := validEnv(t)
	if mutate != nil {
		mutate(env)
	}
	s, err := registryconfig.ParseEnviron(environ(env))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// parseWithDistribution parses the rendered configuration with the registry's
// own parser, as the registry does at start.
func parseWithDistribution(t *testing.T, s *registryconfig.Settings) *configuration.Configuration {
	t.Helper()
	raw, err := s.RegistryConfig(registryconfig.PathsIn("/scratch"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := configuration.Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("the registry cannot parse the configuration: %v\n%s", err, raw)
	}
	return cfg
}

func TestRegistryConfigurationForS3(t *testing.T) {
	s := settings(t, nil)
	cfg := parseWithDistribution(t, s)
	paths := registryconfig.PathsIn("/scratch")

	tok := cfg.Auth["token"]
	for k, want := range map[string]string{
		"realm": s.TokenRealm, "service": "docker.synapse.org", "issuer": "www.synapse.org",
		"rootcertbundle": paths.RootCertBundle, "jwks": paths.JWKS,
	} {
		if tok[k] != want {
			t.Errorf("auth.token.%s = %v, want %q", k, tok[k], want)
		}
	}
	if algs, _ := tok["signingalgorithms"].([]any); len(algs) != 1 || algs[0] != "ES256" {
		t.Errorf("auth.token.signingalgorithms = %v, want [ES256] only", tok["signingalgorithms"])
	}

	// The registry built from source registers s3-concurrent (image/s3concurrent).
	if cfg.Storage.Type() != "s3-concurrent" {
		t.Fatalf("storage type %q", cfg.Storage.Type())
	}
	s3 := cfg.Storage.Parameters()
	for k, want := range map[string]any{
		"bucket": "prod.docker.registry.sagebase.org", "region": "us-east-1", "encrypt": true, "secure": true,
		"v4auth": true, "forcepathstyle": true, "rootdirectory": "/",
		// The only ACL a bucket with ACLs disabled (BucketOwnerEnforced) accepts on PUT.
		"objectacl": "bucket-owner-full-control",
		"chunksize": registryconfig.S3ChunkSize, "multipartcopychunksize": registryconfig.S3MultipartCopyChunkSize,
		"multipartcopymaxconcurrency": registryconfig.S3MultipartCopyMaxConcurrency,
		"multipartcopythresholdsize":  registryconfig.S3MultipartCopyThresholdSize,
		"partsinflight":               registryconfig.S3PartsInFlight,
	} {
		if s3[k] != want {
			t.Errorf("storage.s3.%s = %#v, want %#v", k, s3[k], want)
		}
	}
	for _, k := range []string{"accesskey", "secretkey", "sessiontoken", "regionendpoint"} {
		if _, ok := s3[k]; ok {
			t.Errorf("storage.s3.%s is set; credentials must come from the default chain (task role)", k)
		}
	}
	if d, _ := cfg.Storage["redirect"]["disable"].(bool); d {
		t.Error("redirects are disabled")
	}
	if e, _ := cfg.Storage["delete"]["enabled"].(bool); e {
		t.Error("deletes are enabled; Synapse refuses delete notifications")
	}

	if cfg.HTTP.Secret != testHTTPSecret || cfg.HTTP.Addr != ":5000" {
		t.Errorf("http.secret/addr = %q %q", cfg.HTTP.Secret, cfg.HTTP.Addr)
	}
	if cfg.HTTP.TLS.Certificate != paths.TLSCert || cfg.HTTP.TLS.Key != paths.TLSKey {
		t.Errorf("http.tls = %+v", cfg.HTTP.TLS)
	}
	if cfg.HTTP.Debug.Addr != ":5001" || !cfg.HTTP.Debug.Prometheus.Enabled || cfg.HTTP.Debug.Prometheus.Path != "/metrics" {
		t.Errorf("http.debug = %+v", cfg.HTTP.Debug)
	}
	if cfg.HTTP.DrainTimeout < 30*time.Second || cfg.HTTP.DrainTimeout >= 120*time.Second {
		t.Errorf("http.draintimeout = %v, want time for uploads to finish but below Fargate's 120 s stop timeout", cfg.HTTP.DrainTimeout)
	}

	if cfg.Log.Formatter != "json" || !cfg.Log.AccessLog.Disabled || cfg.Log.Level != "info" {
		t.Errorf("log = %+v, want JSON without the text access log", cfg.Log)
	}
	if !cfg.Health.StorageDriver.Enabled || cfg.Health.StorageDriver.Threshold < 1 || cfg.Health.StorageDriver.Interval <= 0 {
		t.Errorf("health.storagedriver = %+v", cfg.Health.StorageDriver)
	}

	if len(cfg.Notifications.Endpoints) != 1 {
		t.Fatalf("%d notification endpoints, want 1", len(cfg.Notifications.Endpoints))
	}
	ep := cfg.Notifications.Endpoints[0]
	if ep.URL != s.NotificationURL || ep.Disabled {
		t.Errorf("endpoint %+v", ep)
	}
	if got := ep.Headers.Values("Authorization"); len(got) != 1 || got[0] != "Basic "+testNotificationAuth {
		t.Errorf("endpoint Authorization = %q", got)
	}
	if !slices.Equal(ep.Ignore.Actions, []string{"pull", "mount", "delete"}) || !slices.Equal(ep.Ignore.MediaTypes, []string{"application/octet-stream"}) {
		t.Errorf("endpoint ignores %+v; Synapse uses manifest pushes only", ep.Ignore)
	}
	if ep.Timeout <= 0 || ep.Threshold <= 0 || ep.Backoff <= 0 {
		t.Errorf("endpoint timing %+v", ep)
	}
}

func TestRegistryConfigurationVariants(t *testing.T) {
	t.Run("virtual-hosted style for a bucket without dots", func(t *testing.T) {
		s := settings(t, func(m map[string]string) { m[registryconfig.EnvS3Bucket] = "new-docker-registry-bucket" })
		if v := parseWithDistribution(t, s).Storage.Parameters()["forcepathstyle"]; v != false {
			t.Errorf("forcepathstyle = %v", v)
		}
	})
	t.Run("endpoint implies path style and plain http", func(t *testing.T) {
		s := settings(t, func(m map[string]string) {
			m[registryconfig.EnvS3Bucket] = "bucket"
			m[registryconfig.EnvS3Endpoint] = "http://localhost:9000"
		})
		p := parseWithDistribution(t, s).Storage.Parameters()
		if p["forcepathstyle"] != true || p["regionendpoint"] != "http://localhost:9000" || p["secure"] != false {
			t.Errorf("s3 parameters %v", p)
		}
	})
	t.Run("filesystem", func(t *testing.T) {
		s := settings(t, func(m map[string]string) {
			delete(m, registryconfig.EnvS3Bucket)
			delete(m, registryconfig.EnvS3Region)
			m[registryconfig.EnvStorage] = "filesystem"
			m[registryconfig.EnvFilesystemRoot] = "/var/lib/registry"
		})
		cfg := parseWithDistribution(t, s)
		if cfg.Storage.Type() != "filesystem" || cfg.Storage.Parameters()["rootdirectory"] != "/var/lib/registry" {
			t.Errorf("storage %v", cfg.Storage)
		}
	})
	t.Run("redirect off", func(t *testing.T) {
		s := settings(t, func(m map[string]string) { m[registryconfig.EnvRedirect] = "false" })
		if d, _ := parseWithDistribution(t, s).Storage["redirect"]["disable"].(bool); !d {
			t.Error("redirect not disabled")
		}
	})
	t.Run("all notifications", func(t *testing.T) {
		s := settings(t, func(m map[string]string) { m[registryconfig.EnvNotificationEvents] = "all" })
		ep := parseWithDistribution(t, s).Notifications.Endpoints[0]
		if len(ep.Ignore.Actions) != 0 || len(ep.Ignore.MediaTypes) != 0 {
			t.Errorf("ignore %+v with events=all", ep.Ignore)
		}
	})
	t.Run("log level", func(t *testing.T) {
		s := settings(t, func(m map[string]string) { m[registryconfig.EnvLogLevel] = "DEBUG" })
		if l := parseWithDistribution(t, s).Log.Level; l != "debug" {
			t.Errorf("log level %q", l)
		}
	})
}

// Secrets are copied into YAML; values YAML would read as something else must
// survive the round trip through the registry's parser unchanged.
func TestSecretsSurviveTheConfigurationFile(t *testing.T) {
	for _, secret := range []string{
		"yes-but-this-is-a-long-enough-secret-value", "0x1234567890123456789012345678901234",
		"12345678901234567890123456789012345", "'quoted' \"and\" #hash: colon [x] {y} & * ! | > %",
		" leading and trailing spaces are kept          ", "line\nbreaks\tand\\backslashes-in-a-secret-xx",
	} {
		s := settings(t, nil)
		s.HTTPSecret = secret
		if got := parseWithDistribution(t, s).HTTP.Secret; got != secret {
			t.Errorf("http.secret %q came back as %q", secret, got)
		}
	}
}

// Sizing for Synapse's 100 GB layers within S3's 10,000-part limit and the
// driver's bounds.
func TestStorageSizingFor100GBLayers(t *testing.T) {
	const maxLayer = int64(registryconfig.MaxLayerSize)
	if maxLayer < 100e9 {
		t.Fatalf("MaxLayerSize %d is below Synapse's 100 GB", maxLayer)
	}
	for name, part := range map[string]int64{
		"chunksize":              registryconfig.S3ChunkSize,
		"multipartcopychunksize": registryconfig.S3MultipartCopyChunkSize,
	} {
		parts := (maxLayer + part - 1) / part
		if parts > registryconfig.S3MaxParts/2 {
			t.Errorf("%s %d: a %d-byte layer needs %d parts; keep below half of S3's %d for headroom", name, part, maxLayer, parts, registryconfig.S3MaxParts)
		}
		if part < registryconfig.S3MinPartSize || part > 5<<30 {
			t.Errorf("%s %d is outside S3's part size limits", name, part)
		}
	}
	// The upload buffer is held in memory per concurrent upload.
	if registryconfig.S3ChunkSize > 64<<20 {
		t.Errorf("chunksize %d costs too much memory per concurrent upload", registryconfig.S3ChunkSize)
	}
	if registryconfig.S3MultipartCopyThresholdSize > 5<<30 || registryconfig.S3MultipartCopyMaxConcurrency < 1 {
		t.Error("multipart copy threshold above S3's 5 GB single-copy limit, or no concurrency")
	}
}

// Registry 3 trusts a token's kid only through the JWKS: a Synapse token
// verifies with the generated configuration, and does not with the
// rootcertbundle alone (the naive upgrade).
func TestSynapseTokensVerifyOnlyWithTheJWKS(t *testing.T) {
	key, err := synapsestub.NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := settings(t, func(m map[string]string) {
		m[registryconfig.EnvTokenCertificates] = readPEM(t, "token-signing-prod.pem") + string(key.CertificatePEM)
		m[registryconfig.EnvScratchDir] = dir
	})
	prepared, err := registryconfig.Prepare(s, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := configuration.Parse(bytes.NewReader(prepared.Config))
	if err != nil {
		t.Fatal(err)
	}
	tokens := synapsestub.NewTokenService(key, synapsestub.DevUser)
	token, err := tokens.TokenFor("dev", "docker.synapse.org", "repository:syn123/app:pull,push")
	if err != nil {
		t.Fatal(err)
	}
	access := auth.Access{Resource: auth.Resource{Type: "repository", Name: "syn123/app"}, Action: "push"}
	authorize := func(params map[string]any) error {
		ac, err := auth.GetAccessController("token", params)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPut, "https://docker.synapse.org/v2/syn123/app/manifests/latest", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		grant, err := ac.Authorized(req, access)
		if err == nil && grant.User.Name != synapsestub.DevUser.ID {
			t.Errorf("granted to %q, want the token's sub %q", grant.User.Name, synapsestub.DevUser.ID)
		}
		return err
	}
	params := cfg.Auth.Parameters()
	if err := authorize(params); err != nil {
		t.Fatalf("a Synapse token is refused with the generated configuration: %v", err)
	}
	withoutJWKS := map[string]any{}
	for k, v := range params {
		if k != "jwks" {
			withoutJWKS[k] = v
		}
	}
	if err := authorize(withoutJWKS); err == nil {
		t.Fatal("a Synapse token verifies with rootcertbundle alone; then the JWKS would not be needed and this test is wrong")
	}
}

func TestPrepareWritesFreshPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "scratch")
	s := settings(t, func(m map[string]string) { m[registryconfig.EnvScratchDir] = dir })
	first, err := registryconfig.Prepare(s, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("scratch dir mode %v, %v; want 0700", fi.Mode(), err)
	}
	p := first.Paths
	for _, f := range []string{p.TLSKey, p.TLSCert, p.RootCertBundle, p.JWKS, p.Config} {
		fi, err := os.Stat(f)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", f, fi.Mode(), err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 5 {
		t.Errorf("scratch dir has %d entries, want exactly the 5 files", len(entries))
	}
	pair, err := tls.LoadX509KeyPair(p.TLSCert, p.TLSKey)
	if err != nil {
		t.Fatalf("TLS key and certificate do not match: %v", err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	for _, host := range []string{"docker.synapse.org", "localhost", "127.0.0.1"} {
		if err := leaf.VerifyHostname(host); err != nil {
			t.Errorf("TLS certificate not valid for %s: %v", host, err)
		}
	}
	bundle, _ := os.ReadFile(p.RootCertBundle)
	if certs, problems := registryconfig.ParseTokenCertificates(string(bundle)); len(certs) != 2 || len(problems) != 0 {
		t.Errorf("rootcertbundle: %d certs, %v", len(certs), problems)
	}
	jwks, _ := os.ReadFile(p.JWKS)
	for _, kid := range []string{devKID, prodKID} {
		if !bytes.Contains(jwks, []byte(kid)) {
			t.Errorf("JWKS lacks kid %s", kid)
		}
	}
	cfg, _ := os.ReadFile(p.Config)
	if !bytes.Equal(cfg, first.Config) || !bytes.Contains(cfg, []byte(p.JWKS)) || !bytes.Contains(cfg, []byte(p.TLSKey)) {
		t.Error("config file does not match or does not refer to the generated files")
	}

	// A second start makes a new key; nothing is reused.
	second, err := registryconfig.Prepare(s, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if second.TLSCertificate.Equal(first.TLSCertificate) {
		t.Error("the TLS certificate was reused across starts")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 5 {
		t.Errorf("second start left %d entries", len(entries))
	}
}

func TestExecEnvDropsSecretsAndOverrides(t *testing.T) {
	in := []string{
		"PATH=/bin", "HOME=/root", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/creds",
		registryconfig.EnvHTTPSecret + "=" + testHTTPSecret,
		registryconfig.EnvNotificationAuth + "=" + testNotificationAuth,
		registryconfig.EnvTokenRealm + "=https://x/y",
		"REGISTRY_HTTP_SECRET=override", "REGISTRY_STORAGE_S3_ACCESSKEY=AKIA",
	}
	env, dropped, _ := registryconfig.ExecEnv(in, t.TempDir())
	joined := strings.Join(env, "\n")
	for _, gone := range []string{testHTTPSecret, testNotificationAuth, registryconfig.Prefix, "REGISTRY_"} {
		if strings.Contains(joined, gone) {
			t.Errorf("registry environment still contains %q:\n%s", gone, joined)
		}
	}
	for _, kept := range []string{"PATH=/bin", "HOME=/root", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/creds", "OTEL_TRACES_EXPORTER=none"} {
		if !slices.Contains(env, kept) {
			t.Errorf("registry environment lacks %q", kept)
		}
	}
	if !slices.Equal(dropped, []string{"REGISTRY_HTTP_SECRET", "REGISTRY_STORAGE_S3_ACCESSKEY"}) {
		t.Errorf("dropped overrides %v", dropped)
	}
	env, _, _ = registryconfig.ExecEnv([]string{"OTEL_TRACES_EXPORTER=otlp"}, t.TempDir())
	if !slices.Equal(env, []string{"OTEL_TRACES_EXPORTER=otlp"}) {
		t.Errorf("an explicit OTEL_TRACES_EXPORTER was changed: %v", env)
	}
}

func TestGoMemLimitFollowsTheContainerLimit(t *testing.T) {
	root := func(files map[string]string) string {
		dir := t.TempDir()
		for name, content := range files {
			path := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	const v2, v1 = "sys/fs/cgroup/memory.max", "sys/fs/cgroup/memory/memory.limit_in_bytes"
	for name, c := range map[string]struct {
		files  map[string]string
		limit  int64
		source string
	}{
		"cgroup v2":           {map[string]string{v2: "4294967296\n"}, 4 << 30, "/" + v2},
		"cgroup v2, no limit": {map[string]string{v2: "max\n"}, 0, "/" + v2},
		"cgroup v1":           {map[string]string{v1: "2147483648\n"}, 2 << 30, "/" + v1},
		"cgroup v1, no limit": {map[string]string{v1: "9223372036854771712\n"}, 0, "/" + v1},
		"no cgroup files":     {nil, 0, ""},
		"garbage":             {map[string]string{v2: "lots"}, 0, "/" + v2},
	} {
		if limit, source := registryconfig.MemoryLimit(root(c.files)); limit != c.limit || source != c.source {
			t.Errorf("%s: limit %d from %q, want %d from %q", name, limit, source, c.limit, c.source)
		}
	}

	// The registry's environment gets it from the container's cgroup.
	env, _, why := registryconfig.ExecEnv([]string{"PATH=/bin"}, root(map[string]string{v1: "2147483648"}))
	if !slices.Equal(env, []string{"PATH=/bin", "OTEL_TRACES_EXPORTER=none", "GOMEMLIMIT=1843MiB"}) {
		t.Errorf("registry environment in a 2 GiB container: %v (%s)", env, why)
	}

	// A 4 GiB task: the runtime keeps its heap under 90 %; the environment's own value wins;
	// with no limit nothing is set.
	env, why = registryconfig.WithGoMemLimit([]string{"PATH=/bin"}, 4<<30, "/"+v2)
	if !slices.Equal(env, []string{"PATH=/bin", "GOMEMLIMIT=3686MiB"}) || !strings.Contains(why, "90% of the 4096 MiB limit in /"+v2) {
		t.Errorf("4 GiB limit: %v (%s)", env, why)
	}
	env, why = registryconfig.WithGoMemLimit([]string{"GOMEMLIMIT=1GiB"}, 4<<30, "/"+v2)
	if !slices.Equal(env, []string{"GOMEMLIMIT=1GiB"}) || !strings.Contains(why, "from the environment") {
		t.Errorf("GOMEMLIMIT set by the operator: %v (%s)", env, why)
	}
	env, why = registryconfig.WithGoMemLimit([]string{"PATH=/bin"}, 0, "")
	if !slices.Equal(env, []string{"PATH=/bin"}) || !strings.Contains(why, "none") {
		t.Errorf("no limit: %v (%s)", env, why)
	}
}

func TestRedactor(t *testing.T) {
	secret := `se"cr<et>&` + testHTTPSecret
	r := registryconfig.NewRedactor(testNotificationAuth, secret, "")
	in := "headers=map[Authorization:[Basic " + testNotificationAuth + "]]\n" +
		`{"msg":"` + strings.ReplaceAll(secret, `"`, `\"`) + `"}` + "\n" +
		`{"msg":"se\"cr\u003cet\u003e\u0026` + testHTTPSecret + `"}` + "\n" +
		"no newline at the end"
	var out bytes.Buffer
	if err := r.Copy(&out, strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if strings.Contains(got, testNotificationAuth) || strings.Contains(got, testHTTPSecret) {
		t.Errorf("secret left in output:\n%s", got)
	}
	if strings.Count(got, registryconfig.Redacted) != 3 || !strings.HasSuffix(got, "no newline at the end") {
		t.Errorf("unexpected output:\n%s", got)
	}
}

func TestMainExplainsEveryProblemAsJSON(t *testing.T) {
	var stderr bytes.Buffer
	code := registryconfig.Main(nil, []string{registryconfig.EnvTokenRealm + "=http://insecure", registryconfig.EnvBinary + "=/nonexistent/registry"}, &stderr)
	if code != registryconfig.ExitConfig {
		t.Fatalf("exit code %d, want %d", code, registryconfig.ExitConfig)
	}
	var entry struct {
		Level    string   `json:"level"`
		Msg      string   `json:"msg"`
		Problems []string `json:"problems"`
	}
	if err := json.Unmarshal(stderr.Bytes(), &entry); err != nil {
		t.Fatalf("stderr is not one JSON line: %v\n%s", err, stderr.String())
	}
	joined := strings.Join(entry.Problems, "\n")
	for _, name := range []string{
		registryconfig.EnvTokenRealm, registryconfig.EnvTokenService, registryconfig.EnvHTTPSecret,
		registryconfig.EnvNotificationAuth, registryconfig.EnvS3Bucket, registryconfig.EnvBinary,
	} {
		if !strings.Contains(joined, name+":") {
			t.Errorf("problems do not name %s:\n%s", name, joined)
		}
	}
	if entry.Level != "fatal" || !strings.Contains(entry.Msg, "was not started") {
		t.Errorf("log entry %+v", entry)
	}

	stderr.Reset()
	if code := registryconfig.Main([]string{"serve"}, nil, &stderr); code != registryconfig.ExitConfig || !strings.Contains(stderr.String(), "takes no arguments") {
		t.Errorf("with arguments: exit %d, %s", code, stderr.String())
	}
}

// The documentation of a variable with a fixed set of values names exactly those
// values (in backticks), its default is one of them, and no refused value is
// among them: the READMEs' rows are these descriptions, and image/values_test.go
// starts the registry with every one of Values.
func TestDocumentedValuesAreTheAcceptedOnes(t *testing.T) {
	backticked := regexp.MustCompile("`([a-z0-9]+)`")
	for _, v := range registryconfig.Variables() {
		if len(v.Values) == 0 {
			continue
		}
		if !slices.Contains(v.Values, v.Default) {
			t.Errorf("%s: default %q is not one of %q", v.Name, v.Default, v.Values)
		}
		var named []string
		for _, m := range backticked.FindAllStringSubmatch(v.Description, -1) {
			named = append(named, m[1])
		}
		for _, value := range v.Values {
			if !slices.Contains(named, value) {
				t.Errorf("%s: the description does not name the value `%s`", v.Name, value)
			}
		}
		for _, n := range named {
			if !slices.Contains(v.Values, n) {
				t.Errorf("%s: the description names `%s`, which is not one of %q", v.Name, n, v.Values)
			}
		}
		for value := range v.Refused {
			if slices.Contains(v.Values, value) {
				t.Errorf("%s: %q is both accepted and refused", v.Name, value)
			}
		}
		for _, value := range v.Values {
			env := validEnv(t)
			env[v.Name] = strings.ToUpper(value)
			if v.Name == registryconfig.EnvStorage && value == registryconfig.StorageFilesystem {
				delete(env, registryconfig.EnvS3Bucket)
				delete(env, registryconfig.EnvS3Region)
				env[registryconfig.EnvFilesystemRoot] = "/data"
			}
			if _, err := registryconfig.ParseEnviron(environ(env)); err != nil {
				t.Errorf("%s=%s (documented) is refused: %v", v.Name, strings.ToUpper(value), err)
			}
		}
	}
}

// SYNAPSE_REGISTRY_S3_REGION is checked with the stack's region rule (ValidRegion, which infra
// applies to aws:region) also when an S3-compatible endpoint is set: the SDK signs for it.
func TestS3RegionIsCheckedWithAnEndpointToo(t *testing.T) {
	for _, region := range []string{"moon", "us-east-1a", "US-EAST-1"} {
		env := validEnv(t)
		env[registryconfig.EnvS3Endpoint] = "http://localhost:9000"
		env[registryconfig.EnvS3Region] = region
		_, err := registryconfig.ParseEnviron(environ(env))
		var ce *registryconfig.ConfigError
		if !errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0].Variable != registryconfig.EnvS3Region {
			t.Errorf("%s=%q with an endpoint: want one problem naming it, got %v", registryconfig.EnvS3Region, region, err)
		}
	}
	for _, region := range []string{"us-east-1", "eu-central-2", "us-gov-west-1", "us-iso-east-1"} {
		if !registryconfig.ValidRegion(region) {
			t.Errorf("ValidRegion(%q) = false, want true", region)
		}
	}
}

// CheckURL is the one URL rule of the image and the stack (infra passes allowHTTP false).
func TestCheckURL(t *testing.T) {
	cases := []struct {
		url       string
		allowHTTP bool
		want      string // "" accepts
	}{
		{"https://repo-prod.prod.sagebase.org/docker/v1/bearerToken", false, ""},
		{"http://127.0.0.1:8080/events", true, ""},
		{"http://repo-prod.prod.sagebase.org/events", false, "must use https"},
		{"ftp://x/y", true, "must use http or https"},
		{"repo-prod.prod.sagebase.org/events", false, "not an absolute https URL"},
		{"https:///events", false, "not an absolute https URL"},
		{"https://bad_host!/events", false, "not an absolute https URL"},
		{"https://user:pw@repo-prod.prod.sagebase.org/events", false, "must not carry credentials"},
	}
	for _, c := range cases {
		got := registryconfig.CheckURL(c.url, c.allowHTTP)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("CheckURL(%q, %v) = %q, want %q", c.url, c.allowHTTP, got, c.want)
		}
	}
}
