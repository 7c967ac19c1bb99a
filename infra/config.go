package infra

import (
	"encoding/base64"
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Architecture is the CPU architecture of the Fargate task and of the image built for it.
type Architecture string

const (
	ARM64 Architecture = "ARM64"
	X8664 Architecture = "X86_64"
)

// DockerPlatform is the platform string `docker build --platform` expects.
func (a Architecture) DockerPlatform() string {
	if a == X8664 {
		return "linux/amd64"
	}
	return "linux/arm64"
}

// NatStrategy is how many NAT gateways the VPC gets (awsx's natGateways.strategy).
type NatStrategy string

const (
	NatSingle   NatStrategy = "Single"
	NatOnePerAz NatStrategy = "OnePerAz"
)

// DockerRegistryArgs is the whole, validated stack configuration. Nothing else in the program reads raw
// config keys: LoadConfig is the only place that does.
type DockerRegistryArgs struct {
	Project string
	Stack   string
	Region  string

	// Tags applied to every taggable resource through the provider's default tags.
	CostCenter string
	OwnerEmail string

	// Protect marks a production stack: Pulumi `protect` on the bucket and secret, ALB deletion
	// protection, and at least two tasks.
	Protect bool

	Network  NetworkConfig
	Storage  StorageConfig
	Registry RegistryConfig
	Image    ImageConfig
	DNS      DNSConfig
	LB       LoadBalancerConfig
	Service  ServiceConfig
	Alarms   AlarmConfig
}

type AlarmConfig struct {
	// Emails subscribe to the alarm topic (each confirms once by e-mail); none leaves the topic
	// for other subscribers (chat, paging) added outside the stack.
	Emails []string
}

type NetworkConfig struct {
	VpcCidr     netip.Prefix
	NatGateways NatStrategy
}

type StorageConfig struct {
	// ExistingBucketName adopts a bucket that already holds images (no copy, never deleted);
	// empty means the stack creates a bucket.
	ExistingBucketName string
	// NoncurrentVersionExpirationDays expires noncurrent versions after that many days; 0 (the
	// default) expires none, and on an adopted bucket then no lifecycle rule deletes anything.
	NoncurrentVersionExpirationDays int
	AbortIncompleteUploadDays       int
}

type RegistryConfig struct {
	Host                     string
	TokenRealm               string
	TokenIssuer              string
	TokenSigningCertificates string // PEM bundle, one or more certificates
	NotificationURL          string
	// NotificationAuth is the base64 "user:password" Synapse expects; always a secret output.
	NotificationAuth pulumi.StringOutput
}

type ImageConfig struct {
	// Reference, when set, is an existing image `repo@sha256:…` to run instead of building image/.
	Reference  string
	KeepImages int
}

type DNSConfig struct {
	CertificateArn  string // existing ACM certificate; empty means create one validated in HostedZoneName
	HostedZoneName  string
	CreateDNSRecord bool
}

type LoadBalancerConfig struct {
	AccessLogs bool
}

type ServiceConfig struct {
	CPU               int
	Memory            int
	Architecture      Architecture
	DesiredCount      int
	MinCount          int
	MaxCount          int
	LogRetentionDays  int
	RequestsPerTarget int
}

// SecretPlaceholders stand in for secrets when the program runs without them (make synth, the
// snapshots): values of the right shape, so validation passes, that are never real.
var SecretPlaceholders = map[string]string{
	"notificationAuth": base64.StdEncoding.EncodeToString([]byte("synth-placeholder:not-a-real-password")),
}

// ConfigError lists every problem found in the stack configuration, each with its key and fix.
type ConfigError struct {
	Stack    string
	Problems []string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "stack %q has %d configuration problem(s); nothing was created. Fix each one and run again:", e.Stack, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p)
	}
	return b.String()
}

// configReader reads raw keys and records every problem instead of stopping at the first.
type configReader struct {
	ctx      *pulumi.Context
	stack    string
	problems []string
}

func (r *configReader) key(name string) string {
	if strings.Contains(name, ":") {
		return name
	}
	return r.ctx.Project() + ":" + name
}

func (r *configReader) problem(name, format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf("%s: %s", r.key(name), fmt.Sprintf(format, args...)))
}

func (r *configReader) setHint(name, example string) string {
	if strings.HasPrefix(example, "--") {
		// Everything after "--" is the value, so the stack flag must come first.
		return fmt.Sprintf("pulumi config set %s --stack %s %s", name, r.stack, example)
	}
	return fmt.Sprintf("pulumi config set %s %s --stack %s", name, example, r.stack)
}

func (r *configReader) raw(name string) (string, bool) {
	v, ok := r.ctx.GetConfig(r.key(name))
	return strings.TrimSpace(v), ok && strings.TrimSpace(v) != ""
}

func (r *configReader) required(name, example string) string {
	v, ok := r.raw(name)
	if !ok {
		r.problem(name, "is required; set it with: %s", r.setHint(name, example))
	}
	return v
}

func (r *configReader) optional(name string) string {
	v, _ := r.raw(name)
	return v
}

// integer reads an int; Pulumi.yaml declares every default, so a missing key here means the
// project file was edited and the program must not guess.
func (r *configReader) integer(name string, min, max int) int {
	v, ok := r.raw(name)
	if !ok {
		r.problem(name, "is required (an integer from %d to %d); set it with: %s", min, max, r.setHint(name, strconv.Itoa(min)))
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		r.problem(name, "%q is not an integer from %d to %d; set it with: %s", v, min, max, r.setHint(name, strconv.Itoa(min)))
		return 0
	}
	return n
}

func (r *configReader) boolean(name string) bool {
	v, ok := r.raw(name)
	if !ok {
		r.problem(name, "is required (true or false); set it with: %s", r.setHint(name, "true"))
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.problem(name, "%q is not true or false; set it with: %s", v, r.setHint(name, "true"))
	}
	return b
}

func (r *configReader) oneOf(name string, allowed ...string) string {
	v, ok := r.raw(name)
	if !ok || !slices.Contains(allowed, v) {
		r.problem(name, "%q is not one of %s; set it with: %s", v, strings.Join(allowed, ", "), r.setHint(name, allowed[0]))
	}
	return v
}

var (
	dnsLabel       = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$`)
	acmArnPattern  = regexp.MustCompile(`^arn:aws(-[a-z]+)*:acm:([a-z0-9-]+):[0-9]{12}:certificate/[0-9a-f-]{36}$`)
	digestRefRegex = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+@sha256:[0-9a-f]{64}$`)
	bucketPattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
)

// isHostName reports whether s is a fully qualified DNS host name such as docker.synapse.org.
func isHostName(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !dnsLabel.MatchString(l) {
			return false
		}
	}
	return true
}

func (r *configReader) host(name, example string, v string) {
	if v != "" && !isHostName(v) {
		r.problem(name, "%q is not a DNS host name (lower-case labels separated by dots); set it with: %s", v, r.setHint(name, example))
	}
}

func (r *configReader) httpsURL(name, example, v string) {
	if v == "" {
		return
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "https" || !isHostName(u.Hostname()) {
		r.problem(name, "%q is not an https:// URL with a host name; set it with: %s", v, r.setHint(name, example))
	}
}

// Fargate's supported task sizes: cpu units -> allowed memory (MiB).
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
func fargateMemoryOptions(cpu int) []int {
	span := func(from, to, step int) []int {
		var out []int
		for m := from; m <= to; m += step {
			out = append(out, m)
		}
		return out
	}
	switch cpu {
	case 256:
		return []int{512, 1024, 2048}
	case 512:
		return span(1024, 4096, 1024)
	case 1024:
		return span(2048, 8192, 1024)
	case 2048:
		return span(4096, 16384, 1024)
	case 4096:
		return span(8192, 30720, 1024)
	case 8192:
		return span(16384, 61440, 4096)
	case 16384:
		return span(32768, 122880, 8192)
	}
	return nil
}

// CloudWatch Logs accepts only these retention periods.
var logRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// LoadConfig reads and validates the whole stack configuration. It reports every problem at once,
// and is called before any resource is declared, so bad input creates nothing.
func LoadConfig(ctx *pulumi.Context) (*DockerRegistryArgs, error) {
	r := &configReader{ctx: ctx, stack: ctx.Stack()}
	c := &DockerRegistryArgs{Project: ctx.Project(), Stack: ctx.Stack()}

	c.Region = r.required("aws:region", "us-east-1")
	if c.Region != "" && !regionPattern.MatchString(c.Region) {
		r.problem("aws:region", "%q is not an AWS region; set it with: %s", c.Region, r.setHint("aws:region", "us-east-1"))
	}

	c.CostCenter = r.required("costCenter", `"Platform Infrastructure / 990300"`)
	c.OwnerEmail = r.required("ownerEmail", "synapseeng@sagebase.org")
	if c.OwnerEmail != "" {
		if addr, err := mail.ParseAddress(c.OwnerEmail); err != nil || addr.Address != c.OwnerEmail {
			r.problem("ownerEmail", "%q is not an e-mail address; set it with: %s", c.OwnerEmail, r.setHint("ownerEmail", "synapseeng@sagebase.org"))
		}
	}
	c.Protect = r.boolean("protect")

	// Network.
	cidr := r.required("vpcCidr", "172.29.0.0/24")
	if cidr != "" {
		prefix, err := netip.ParsePrefix(cidr)
		switch {
		case err != nil || !prefix.Addr().Is4():
			r.problem("vpcCidr", "%q is not an IPv4 CIDR block; set it with: %s", cidr, r.setHint("vpcCidr", "172.29.0.0/24"))
		case prefix.Masked() != prefix:
			r.problem("vpcCidr", "%q has host bits set; use the network address %s: %s", cidr, prefix.Masked(), r.setHint("vpcCidr", prefix.Masked().String()))
		case prefix.Bits() < 16 || prefix.Bits() > 24:
			r.problem("vpcCidr", "%q must be between /16 and /24 (AWS allows /16 at most, and /24 is the least that fits two public /27 and two private /26 subnets); set it with: %s", cidr, r.setHint("vpcCidr", "172.29.0.0/24"))
		default:
			c.Network.VpcCidr = prefix
		}
	}
	c.Network.NatGateways = NatStrategy(r.oneOf("natGateways", string(NatOnePerAz), string(NatSingle)))

	// Storage.
	c.Storage.ExistingBucketName = r.optional("existingBucketName")
	if b := c.Storage.ExistingBucketName; b != "" && (!bucketPattern.MatchString(b) || strings.Contains(b, "..") || parseAddrOrZero(b).Is4()) {
		r.problem("existingBucketName", "%q is not a valid S3 bucket name (3-63 lower-case letters, digits, dots and hyphens); set it with: %s", b, r.setHint("existingBucketName", "prod.docker.registry.sagebase.org"))
	}
	c.Storage.NoncurrentVersionExpirationDays = r.integer("noncurrentVersionExpirationDays", 0, 3650)
	c.Storage.AbortIncompleteUploadDays = r.integer("abortIncompleteUploadDays", 1, 365)

	// Registry, as Synapse knows it.
	c.Registry.Host = r.required("registryHost", "docker.synapse.org")
	r.host("registryHost", "docker.synapse.org", c.Registry.Host)
	c.Registry.TokenRealm = r.required("tokenRealm", "https://repo-prod.prod.sagebase.org/docker/v1/bearerToken")
	r.httpsURL("tokenRealm", "https://repo-prod.prod.sagebase.org/docker/v1/bearerToken", c.Registry.TokenRealm)
	c.Registry.TokenIssuer = r.required("tokenIssuer", "www.synapse.org")
	r.host("tokenIssuer", "www.synapse.org", c.Registry.TokenIssuer)
	c.Registry.TokenSigningCertificates = r.required("tokenSigningCertificates", "-- \"$(cat token-signing.pem)\"")
	if pemBundle := c.Registry.TokenSigningCertificates; pemBundle != "" {
		// The entrypoint's own check: the stack accepts exactly what the registry will.
		_, problems := registryconfig.ParseTokenCertificates(pemBundle)
		for _, p := range problems {
			r.problem("tokenSigningCertificates", "%s; set Synapse's PEM certificate(s) with: %s", p, r.setHint("tokenSigningCertificates", "-- \"$(cat token-signing.pem)\""))
		}
	}
	c.Registry.NotificationURL = r.required("notificationUrl", "https://repo-prod.prod.sagebase.org/dockerRegistryListener/v1/events")
	r.httpsURL("notificationUrl", "https://repo-prod.prod.sagebase.org/dockerRegistryListener/v1/events", c.Registry.NotificationURL)
	notificationAuth := r.loadNotificationAuth()
	c.Registry.NotificationAuth = pulumi.ToSecret(pulumi.String(notificationAuth)).(pulumi.StringOutput)

	// Image.
	c.Image.Reference = r.optional("image")
	if ref := c.Image.Reference; ref != "" && !digestRefRegex.MatchString(ref) {
		r.problem("image", "%q is not an image reference pinned by digest (registry/repository@sha256:<64 hex>); tasks run images by digest only. Set it with: %s, or remove it to build image/: pulumi config rm image --stack %s",
			ref, r.setHint("image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/registry@sha256:<digest>"), r.stack)
	}
	c.Image.KeepImages = r.integer("ecrKeepImages", 1, 1000)

	// Certificate and DNS.
	c.DNS.CertificateArn = r.optional("certificateArn")
	if arn := c.DNS.CertificateArn; arn != "" {
		m := acmArnPattern.FindStringSubmatch(arn)
		switch {
		case m == nil:
			r.problem("certificateArn", "%q is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<uuid>); set it with: %s", arn, r.setHint("certificateArn", "arn:aws:acm:us-east-1:123456789012:certificate/<uuid>"))
		case c.Region != "" && m[2] != c.Region:
			r.problem("certificateArn", "is in region %s but the load balancer is in %s; an ALB can only use a certificate from its own region. Request or import one in %s and set it with: %s", m[2], c.Region, c.Region, r.setHint("certificateArn", "<arn>"))
		}
	}
	c.DNS.HostedZoneName = strings.TrimSuffix(r.optional("hostedZoneName"), ".")
	r.host("hostedZoneName", "synapse.org", c.DNS.HostedZoneName)
	c.DNS.CreateDNSRecord = r.boolean("createDnsRecord")
	zone := c.DNS.HostedZoneName
	switch {
	case c.DNS.CertificateArn == "" && zone == "":
		r.problem("certificateArn", "the HTTPS listener needs a certificate: set an existing one with %s, or let the stack request one validated in Route 53 with %s",
			r.setHint("certificateArn", "<arn>"), r.setHint("hostedZoneName", "synapse.org"))
	case zone != "" && c.Registry.Host != "" && c.Registry.Host != zone && !strings.HasSuffix(c.Registry.Host, "."+zone):
		r.problem("hostedZoneName", "%q does not contain registryHost %q; set the zone that holds the host with: %s", zone, c.Registry.Host, r.setHint("hostedZoneName", "synapse.org"))
	}
	if c.DNS.CreateDNSRecord && zone == "" {
		r.problem("createDnsRecord", "is true but hostedZoneName is not set; set the zone with: %s, or disable the record with: %s", r.setHint("hostedZoneName", "synapse.org"), r.setHint("createDnsRecord", "false"))
	}

	// Load balancer.
	c.LB.AccessLogs = r.boolean("accessLogs")

	// Service.
	s := &c.Service
	s.CPU = r.integer("cpu", 256, 16384)
	s.Memory = r.integer("memory", 512, 122880)
	if s.CPU != 0 && s.Memory != 0 {
		options := fargateMemoryOptions(s.CPU)
		switch {
		case options == nil:
			r.problem("cpu", "%d is not a Fargate CPU size (256, 512, 1024, 2048, 4096, 8192 or 16384); set it with: %s", s.CPU, r.setHint("cpu", "1024"))
		case !slices.Contains(options, s.Memory):
			r.problem("memory", "%d MiB is not offered by Fargate with cpu %d (allowed: %d to %d MiB in steps of %d); set it with: %s",
				s.Memory, s.CPU, options[0], options[len(options)-1], stepOf(options), r.setHint("memory", strconv.Itoa(options[0])))
		}
	}
	s.Architecture = Architecture(r.oneOf("architecture", string(ARM64), string(X8664)))
	s.DesiredCount = r.integer("desiredCount", 1, 100)
	s.MinCount = r.integer("minCount", 1, 100)
	s.MaxCount = r.integer("maxCount", 1, 100)
	if s.MinCount > s.MaxCount {
		r.problem("minCount", "%d is greater than maxCount %d; set them with: %s and %s", s.MinCount, s.MaxCount, r.setHint("minCount", strconv.Itoa(s.MaxCount)), r.setHint("maxCount", strconv.Itoa(s.MinCount)))
	} else if s.DesiredCount != 0 && (s.DesiredCount < s.MinCount || s.DesiredCount > s.MaxCount) {
		r.problem("desiredCount", "%d is outside minCount..maxCount (%d..%d); set it with: %s", s.DesiredCount, s.MinCount, s.MaxCount, r.setHint("desiredCount", strconv.Itoa(s.MinCount)))
	}
	if c.Protect && s.MinCount != 0 && s.MinCount < 2 {
		r.problem("minCount", "is %d but a protected (production) stack runs at least two tasks, one per availability zone; set it with: %s", s.MinCount, r.setHint("minCount", "2"))
	}
	s.LogRetentionDays = r.integer("logRetentionDays", 1, 3653)
	if s.LogRetentionDays != 0 && !slices.Contains(logRetentionDays, s.LogRetentionDays) {
		r.problem("logRetentionDays", "%d is not a retention CloudWatch Logs accepts (%s); set it with: %s", s.LogRetentionDays, joinInts(logRetentionDays), r.setHint("logRetentionDays", "365"))
	}
	s.RequestsPerTarget = r.integer("requestsPerTarget", 1, 100000)

	// Alarms.
	for _, e := range strings.Split(r.optional("alarmEmails"), ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if addr, err := mail.ParseAddress(e); err != nil || addr.Address != e {
			r.problem("alarmEmails", "%q is not an e-mail address (list plain addresses separated by commas); set it with: %s", e, r.setHint("alarmEmails", "synapseeng@sagebase.org,oncall@sagebase.org"))
			continue
		}
		if slices.Contains(c.Alarms.Emails, e) {
			r.problem("alarmEmails", "lists %q twice; set it with each address once: %s", e, r.setHint("alarmEmails", "synapseeng@sagebase.org"))
			continue
		}
		c.Alarms.Emails = append(c.Alarms.Emails, e)
	}

	if len(r.problems) > 0 {
		return nil, &ConfigError{Stack: r.stack, Problems: r.problems}
	}
	return c, nil
}

// loadNotificationAuth returns the notification secret, which must be set as a Pulumi secret and
// be the base64 "user:password" Synapse checks.
func (r *configReader) loadNotificationAuth() string {
	const name = "notificationAuth"
	fix := fmt.Sprintf(`pulumi config set --secret %s "$(printf '%%s' '<user>:<password>' | base64 | tr -d '\n')" --stack %s`, name, r.stack)
	v, ok := r.raw(name)
	if !ok {
		r.problem(name, "is required: the base64 \"user:password\" Synapse expects on every notification. Set it (encrypted) with: %s", fix)
		return ""
	}
	if !r.ctx.IsConfigSecret(r.key(name)) {
		r.problem(name, "is stored in plain text; it must be encrypted. Set it again with: %s", fix)
	}
	if strings.ContainsAny(v, " \t\r\n") {
		r.problem(name, "contains white space or a line break (base64 wraps long input), which would break the Authorization header; set it with: %s", fix)
		return v
	}
	decoded, err := base64.StdEncoding.DecodeString(v)
	if err != nil || !strings.Contains(string(decoded), ":") || strings.HasPrefix(string(decoded), ":") {
		r.problem(name, "is not the base64 encoding of \"user:password\"; set it with: %s", fix)
	}
	return v
}

func parseAddrOrZero(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a
}

func stepOf(v []int) int {
	if len(v) < 2 {
		return 0
	}
	return v[1] - v[0]
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}
