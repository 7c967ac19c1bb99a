package registryconfig

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MinHTTPSecretLength is the shortest SYNAPSE_REGISTRY_HTTP_SECRET accepted.
const MinHTTPSecretLength = 32

// Settings is the validated, typed form of the environment variables.
type Settings struct {
	TokenRealm   string
	TokenService string
	TokenIssuer  string
	// TokenCertificates are Synapse's token-signing certificates, in the order
	// given, without duplicates (same public key).
	TokenCertificates []*x509.Certificate

	NotificationURL    string
	NotificationAuth   string // secret
	NotificationEvents string // EventsSynapse or EventsAll
	// NotificationQueueURL, if set, routes events through the relay and SQS.
	NotificationQueueURL string
	NotificationDLQURL   string
	SQSEndpoint          string
	RelayAddr            string
	NotificationRetry    time.Duration

	HTTPSecret string // secret

	Storage        string // StorageS3 or StorageFilesystem
	S3Bucket       string
	S3Region       string
	S3Endpoint     string
	FilesystemRoot string
	Redirect       bool

	ListenAddr string
	HealthAddr string
	ScratchDir string
	Binary     string
	LogLevel   string

	// ECSAgentURI is ECS_AGENT_URI, set by ECS (taskprotection.go); "" elsewhere.
	ECSAgentURI string
}

// Problem is one thing wrong with the environment: which variable and what to do.
type Problem struct {
	Variable string
	Message  string
}

func (p Problem) String() string { return p.Variable + ": " + p.Message }

// ConfigError lists every problem found in the environment, not just the first.
type ConfigError struct {
	Problems []Problem
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d problem(s) with the environment; the registry was not started. Fix each one:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.String())
	}
	return b.String()
}

// ParseEnviron reads the settings from an environment in os.Environ form
// ("NAME=value"). Empty values count as unset. It reports every problem at once
// in a *ConfigError; secret values never appear in its messages.
func ParseEnviron(environ []string) (*Settings, error) {
	env := map[string]string{}
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(name, Prefix) && value != "" {
			env[name] = value
		}
	}
	s, err := Parse(func(name string) string { return env[name] }, sortedKeys(env))
	if s != nil {
		s.ECSAgentURI = ecsAgentURI(environ)
	}
	return s, err
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Parse reads the settings through get (which returns "" for unset variables).
// present lists the SYNAPSE_REGISTRY_* names that are set, so that misspelled
// names are reported; it may be nil.
func Parse(get func(string) string, present []string) (*Settings, error) {
	p := &parser{get: get}
	s := &Settings{}

	for _, name := range present {
		if _, ok := Lookup(name); !ok && strings.HasPrefix(name, Prefix) {
			p.add(name, "is not a variable this image reads%s; remove it (the known variables are listed in image/README.md)", suggestion(name))
		}
	}

	s.TokenRealm = p.required(EnvTokenRealm, "Synapse's bearer-token URL, e.g. https://repo-prod.prod.sagebase.org/docker/v1/bearerToken")
	if s.TokenRealm != "" {
		p.checkURL(EnvTokenRealm, s.TokenRealm, false, "Synapse's bearer-token URL, e.g. https://repo-prod.prod.sagebase.org/docker/v1/bearerToken")
	}
	s.TokenService = p.required(EnvTokenService, "the registry's public host name, e.g. docker.synapse.org")
	if s.TokenService != "" && !validServiceName(s.TokenService) {
		p.add(EnvTokenService, "%q is not a host name; set the registry's public host name (optionally host:port), e.g. docker.synapse.org, without scheme or path", s.TokenService)
	}
	s.TokenIssuer = p.required(EnvTokenIssuer, "the iss of Synapse's tokens, e.g. www.synapse.org")
	if s.TokenIssuer != "" && strings.ContainsFunc(s.TokenIssuer, isSpace) {
		p.add(EnvTokenIssuer, "%q contains white space; set the exact iss of Synapse's tokens, e.g. www.synapse.org", s.TokenIssuer)
	}
	if pemText := p.required(EnvTokenCertificates, "the PEM text of Synapse's token-signing certificate(s)"); pemText != "" {
		certs, problems := ParseTokenCertificates(pemText)
		for _, msg := range problems {
			p.add(EnvTokenCertificates, "%s", msg)
		}
		s.TokenCertificates = certs
	}

	s.NotificationURL = p.required(EnvNotificationURL, "Synapse's event listener URL, e.g. https://repo-prod.prod.sagebase.org/dockerRegistryListener/v1/events")
	if s.NotificationURL != "" {
		p.checkURL(EnvNotificationURL, s.NotificationURL, true, "Synapse's event listener URL, e.g. https://repo-prod.prod.sagebase.org/dockerRegistryListener/v1/events")
	}
	s.NotificationAuth = p.required(EnvNotificationAuth, `base64 of "user:password" (from the stack's secret)`)
	if s.NotificationAuth != "" {
		raw, err := base64.StdEncoding.DecodeString(s.NotificationAuth)
		user, _, hasColon := strings.Cut(string(raw), ":")
		switch {
		case err != nil:
			p.add(EnvNotificationAuth, `is not valid base64 (value not shown); set it to base64 of "user:password", e.g. the output of: printf '%%s' 'user:password' | base64`)
		case !hasColon || user == "":
			p.add(EnvNotificationAuth, `does not decode to "user:password" (value not shown); set it to base64 of "user:password"`)
		}
	}
	s.NotificationEvents = p.choice(EnvNotificationEvents)

	s.NotificationQueueURL = p.optional(EnvNotificationQueue)
	s.SQSEndpoint = p.optional(EnvSQSEndpoint)
	s.RelayAddr = p.optional(EnvRelayAddr)
	if s.NotificationQueueURL != "" {
		p.checkURL(EnvNotificationQueue, s.NotificationQueueURL, s.SQSEndpoint != "", "the notification queue's URL, e.g. https://sqs.us-east-1.amazonaws.com/123456789012/registry-notifications")
		s.NotificationDLQURL = p.required(EnvNotificationDLQ, "the notification dead-letter queue's URL (the stack sets both)")
		if s.NotificationDLQURL != "" {
			p.checkURL(EnvNotificationDLQ, s.NotificationDLQURL, s.SQSEndpoint != "", "the dead-letter queue's URL")
		}
		if s.SQSEndpoint != "" {
			p.checkURL(EnvSQSEndpoint, s.SQSEndpoint, true, "an SQS-compatible endpoint such as http://localhost:9324, or leave it unset for AWS")
		}
		p.checkAddr(EnvRelayAddr, s.RelayAddr)
		retry, err := time.ParseDuration(p.optional(EnvNotificationRetry))
		if err != nil || retry < time.Second || retry > 15*time.Minute {
			p.add(EnvNotificationRetry, "%q is not a duration from 1s to 15m; leave it unset for 10s", p.optional(EnvNotificationRetry))
		}
		s.NotificationRetry = retry
		if h := hostOf(s.RelayAddr); h != "127.0.0.1" && h != "localhost" && h != "::1" {
			p.add(EnvRelayAddr, "%q is not a loopback address; the relay takes the registry's events only inside the task, e.g. 127.0.0.1:5004", s.RelayAddr)
		}
	}

	s.HTTPSecret = p.required(EnvHTTPSecret, "a random string of at least 32 characters shared by every task (from the stack's secret)")
	if s.HTTPSecret != "" && utf8.RuneCountInString(s.HTTPSecret) < MinHTTPSecretLength {
		p.add(EnvHTTPSecret, "is %d characters long (value not shown); it must be at least %d, e.g. the output of: openssl rand -hex 32", utf8.RuneCountInString(s.HTTPSecret), MinHTTPSecretLength)
	}

	s.Storage = p.choice(EnvStorage)
	switch s.Storage {
	case StorageS3:
		s.S3Bucket = p.required(EnvS3Bucket, "the name of the image-data bucket")
		if s.S3Bucket != "" && !validBucketName(s.S3Bucket) {
			p.add(EnvS3Bucket, "%q is not a valid S3 bucket name (3-63 characters: lower-case letters, digits, dots and hyphens)", s.S3Bucket)
		}
		s.S3Region = p.required(EnvS3Region, "the bucket's AWS region, e.g. us-east-1")
		s.S3Endpoint = p.optional(EnvS3Endpoint)
		if s.S3Endpoint != "" {
			p.checkURL(EnvS3Endpoint, s.S3Endpoint, true, "an S3-compatible endpoint such as http://localhost:9000, or leave it unset for AWS")
		}
		// Checked with an endpoint too: the S3 SDK signs requests for this region, and the stack
		// sets the same value with the same rule (ValidRegion).
		if s.S3Region != "" && !ValidRegion(s.S3Region) {
			p.add(EnvS3Region, "%q is not an AWS region name; set it to the bucket's region, e.g. us-east-1", s.S3Region)
		}
		if v := p.get(EnvFilesystemRoot); v != "" {
			p.add(EnvFilesystemRoot, "is set but %s is %q; unset it, or set %s=%s", EnvStorage, StorageS3, EnvStorage, StorageFilesystem)
		}
	case StorageFilesystem:
		s.FilesystemRoot = p.required(EnvFilesystemRoot, "an absolute directory for image data")
		if s.FilesystemRoot != "" && !filepath.IsAbs(s.FilesystemRoot) {
			p.add(EnvFilesystemRoot, "%q is not an absolute path; set an absolute directory for image data", s.FilesystemRoot)
		}
		for _, name := range []string{EnvS3Bucket, EnvS3Region, EnvS3Endpoint} {
			if p.get(name) != "" {
				p.add(name, "is set but %s is %q; unset it, or set %s=%s", EnvStorage, StorageFilesystem, EnvStorage, StorageS3)
			}
		}
	}

	s.Redirect = p.choice(EnvRedirect) == "true"

	s.ListenAddr = p.optional(EnvListenAddr)
	p.checkAddr(EnvListenAddr, s.ListenAddr)
	s.HealthAddr = p.optional(EnvHealthAddr)
	p.checkAddr(EnvHealthAddr, s.HealthAddr)
	if s.ListenAddr != "" && s.ListenAddr == s.HealthAddr {
		p.add(EnvHealthAddr, "%q is also %s; the health server needs a port of its own", s.HealthAddr, EnvListenAddr)
	} else if lp, hp := portOf(s.ListenAddr), portOf(s.HealthAddr); lp != "" && lp == hp && (hostOf(s.ListenAddr) == "" || hostOf(s.HealthAddr) == "") {
		p.add(EnvHealthAddr, "%q uses the same port as %s=%q; the health server needs a port of its own", s.HealthAddr, EnvListenAddr, s.ListenAddr)
	}

	s.ScratchDir = p.optional(EnvScratchDir)
	if !filepath.IsAbs(s.ScratchDir) {
		p.add(EnvScratchDir, "%q is not an absolute path; set a writable absolute directory or leave it unset for %s", s.ScratchDir, ScratchPath)
	}
	s.Binary = p.optional(EnvBinary)
	if !filepath.IsAbs(s.Binary) {
		p.add(EnvBinary, "%q is not an absolute path; set the registry binary's absolute path or leave it unset for /bin/registry", s.Binary)
	}
	s.LogLevel = p.choice(EnvLogLevel)

	if len(p.problems) > 0 {
		return nil, &ConfigError{Problems: p.problems}
	}
	return s, nil
}

type parser struct {
	get      func(string) string
	problems []Problem
}

func (p *parser) add(name, format string, args ...any) {
	p.problems = append(p.problems, Problem{Variable: name, Message: fmt.Sprintf(format, args...)})
}

func (p *parser) required(name, what string) string {
	v := strings.TrimSpace(p.get(name))
	if v == "" {
		p.add(name, "is required and not set; set it to %s", what)
	}
	return v
}

func (p *parser) optional(name string) string {
	if v := strings.TrimSpace(p.get(name)); v != "" {
		return v
	}
	d, _ := Lookup(name)
	return d.Default
}

// choice reads a variable that takes one of its documented Values (lower-cased,
// or the default when unset). Anything else is reported with the fix: for a value
// the registry itself would refuse at start, the specific one from Refused.
func (p *parser) choice(name string) string {
	v := strings.ToLower(p.optional(name))
	d, _ := Lookup(name)
	if slices.Contains(d.Values, v) {
		return v
	}
	if fix, ok := d.Refused[v]; ok {
		p.add(name, "%q is refused: %s", v, fix)
	} else {
		p.add(name, "%q is not one of %s; leave it unset for %s", v, strings.Join(d.Values, ", "), d.Default)
	}
	return ""
}

func (p *parser) checkURL(name, raw string, allowHTTP bool, what string) {
	if problem := CheckURL(raw, allowHTTP); problem != "" {
		p.add(name, "%s; set it to %s", problem, what)
	}
}

func (p *parser) checkAddr(name, addr string) {
	host, port, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || n < 1 || n > 65535 || strings.ContainsFunc(host, isSpace) {
		p.add(name, "%q is not a listen address of the form [host]:port with a port from 1 to 65535", addr)
	}
}

func portOf(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return port
}

func hostOf(addr string) string {
	host, _, _ := net.SplitHostPort(addr)
	return host
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

var (
	bucketPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	hostPattern   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$`)
)

func validBucketName(b string) bool {
	return bucketPattern.MatchString(b) && !strings.Contains(b, "..") && net.ParseIP(b) == nil
}

func validServiceName(s string) bool { return hostPattern.MatchString(s) }

// suggestion names the known variable closest to a misspelled one.
func suggestion(name string) string {
	names := make([]string, len(variables))
	for i, v := range variables {
		names[i] = v.Name
	}
	best := Nearest(name, names, 3)
	if best == "" {
		return ""
	}
	return "; did you mean " + best + "?"
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// ParseTokenCertificates parses a PEM bundle of token-signing certificates. It
// returns the distinct certificates (by public key) and one message per problem:
// no certificate at all, a block that is not a certificate (a private key pasted
// by mistake is named as such, never echoed), an unparsable certificate, or a key
// that is not ECDSA P-256 (Synapse signs ES256).
func ParseTokenCertificates(pemText string) ([]*x509.Certificate, []string) {
	var certs []*x509.Certificate
	var problems []string
	rest := []byte(pemText)
	seen := map[string]bool{}
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		n++
		if block.Type != "CERTIFICATE" {
			hint := ""
			if strings.Contains(block.Type, "PRIVATE KEY") {
				hint = " — a private key must never be given to the registry; remove it and rotate that key"
			}
			problems = append(problems, fmt.Sprintf("PEM block %d is a %q, not a CERTIFICATE%s", n, block.Type, hint))
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			problems = append(problems, fmt.Sprintf("certificate %d cannot be parsed: %v", n, err))
			continue
		}
		pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
		if !ok || pub.Curve != elliptic.P256() {
			problems = append(problems, fmt.Sprintf("certificate %d (subject %q) does not hold an ECDSA P-256 key; Synapse signs its tokens with ES256", n, cert.Subject.String()))
			continue
		}
		key := string(cert.RawSubjectPublicKeyInfo)
		if seen[key] {
			continue
		}
		seen[key] = true
		certs = append(certs, cert)
	}
	if n == 0 {
		hint := ""
		if bytes.Contains([]byte(pemText), []byte(`\n`)) {
			hint = ` (the value contains literal \n sequences; pass real line breaks)`
		}
		problems = append(problems, "holds no PEM certificate"+hint+"; set it to the PEM text of Synapse's token-signing certificate(s), -----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----")
	} else if strings.TrimSpace(string(rest)) != "" {
		problems = append(problems, "has text after the last PEM block that is not PEM; remove it")
	}
	return certs, problems
}
