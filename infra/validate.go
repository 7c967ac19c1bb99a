package infra

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"fmt"
	"net/mail"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
)

// Validate checks DockerRegistryArgs however they were built (LoadConfig from stack config, or a
// program in code) and returns every problem at once as a *ConfigError, each naming its config
// key and the command that fixes it. Fix hints use the stack's own values or placeholders, never
// another stack's resources. NotificationAuth is an output: LoadConfig checks its value.
func (a *DockerRegistryArgs) Validate() error {
	p := &problems{project: a.Project, stack: a.Stack}
	a.validate(p, time.Now())
	return p.err()
}

// problems collects configuration problems in the ConfigError format, "<project>:<key>: <what>;
// <fix>". Keys whose raw value could not be parsed are skipped by later checks, so each key
// reports its first problem only once.
type problems struct {
	project, stack string
	list           []string
	unparsed       map[string]bool
}

func (p *problems) key(name string) string {
	if strings.Contains(name, ":") || p.project == "" {
		return name
	}
	return p.project + ":" + name
}

func (p *problems) add(name, format string, args ...any) {
	if p.unparsed[name] {
		return
	}
	p.list = append(p.list, fmt.Sprintf("%s: %s", p.key(name), fmt.Sprintf(format, args...)))
}

// setHint is the command that sets name to example on this stack.
func (p *problems) setHint(name, example string) string {
	if strings.HasPrefix(example, "--") {
		// Everything after "--" is the value, so the stack flag must come first.
		return fmt.Sprintf("pulumi config set %s --stack %s %s", name, p.stack, example)
	}
	return fmt.Sprintf("pulumi config set %s %s --stack %s", name, example, p.stack)
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ConfigError{Stack: p.stack, Problems: p.list}
}

func (p *problems) required(name, v, example string) bool {
	if v == "" {
		p.add(name, "is required; set it with: %s", p.setHint(name, example))
		return false
	}
	return true
}

func (p *problems) inRange(name string, v, min, max int) {
	if v < min || v > max {
		p.add(name, "%d is not an integer from %d to %d; set it with: %s", v, min, max, p.setHint(name, strconv.Itoa(min)))
	}
}

func (p *problems) oneOf(name, v string, allowed ...string) {
	if !slices.Contains(allowed, v) {
		p.add(name, "%q is not one of %s; set it with: %s", v, strings.Join(allowed, ", "), p.setHint(name, allowed[0]))
	}
}

func (p *problems) host(name, v, example string) {
	if v != "" && !isHostName(v) {
		p.add(name, "%q is not a DNS host name (lower-case labels separated by dots); set it with: %s", v, p.setHint(name, example))
	}
}

// httpsURL applies the image's own URL rule (registryconfig.CheckURL), https only: the stack's
// URLs cross the internet.
func (p *problems) httpsURL(name, v, example string) {
	if v == "" {
		return
	}
	if problem := registryconfig.CheckURL(v, false); problem != "" {
		p.add(name, "%s; set it with: %s", problem, p.setHint(name, example))
	}
}

func (p *problems) email(name, v, example, format string) bool {
	if addr, err := mail.ParseAddress(v); err != nil || addr.Address != v {
		p.add(name, format, v, p.setHint(name, example))
		return false
	}
	return true
}

// Per-stack placeholders for fix hints whose value is a stack's own resource (a bucket, a host,
// Synapse's endpoints): a hint must not point one stack at another's.
const (
	hostPlaceholder  = "<registry-host-name>"
	realmExample     = "https://<synapse-repo-host>/docker/v1/bearerToken"
	listenerExample  = "https://<synapse-repo-host>/dockerRegistryListener/v1/events"
	bucketExample    = "<this-stack's-bucket-name>"
	zonePlaceholder  = "<hosted-zone-of-registryHost>"
	pemExample       = "-- \"$(cat token-signing.pem)\""
	issuerExample    = "www.synapse.org" // Synapse's one issuer, the same for every stack
	arnPlaceholder   = "arn:aws:acm:<region>:<account>:certificate/<uuid>"
	imagePlaceholder = "<account>.dkr.ecr.<region>.amazonaws.com/<repository>@sha256:<digest>"
)

func (a *DockerRegistryArgs) validate(p *problems, now time.Time) {
	if p.required("aws:region", a.Region, "us-east-1") && !registryconfig.ValidRegion(a.Region) {
		p.add("aws:region", "%q is not an AWS region; set it with: %s", a.Region, p.setHint("aws:region", "us-east-1"))
	}
	p.required("costCenter", a.CostCenter, `"<cost center>"`)
	if p.required("ownerEmail", a.OwnerEmail, "<owner-e-mail>") {
		p.email("ownerEmail", a.OwnerEmail, "<owner-e-mail>", "%q is not an e-mail address; set it with: %s")
	}

	// Network.
	switch cidr := a.Network.VpcCidr; {
	case !cidr.IsValid():
		p.required("vpcCidr", "", "<a.b.c.0>/24")
	case !cidr.Addr().Is4():
		p.add("vpcCidr", "%q is not an IPv4 CIDR block; set it with: %s", cidr, p.setHint("vpcCidr", "<a.b.c.0>/24"))
	case cidr.Masked() != cidr:
		p.add("vpcCidr", "%q has host bits set; use the network address %s: %s", cidr, cidr.Masked(), p.setHint("vpcCidr", cidr.Masked().String()))
	case cidr.Bits() < 16 || cidr.Bits() > 24:
		p.add("vpcCidr", "%q must be between /16 and /24 (AWS allows /16 at most, and /24 is the least that fits two public /27 and two private /26 subnets); set it with: %s",
			cidr, p.setHint("vpcCidr", netip.PrefixFrom(cidr.Addr(), 24).Masked().String()))
	}
	p.oneOf("natGateways", string(a.Network.NatGateways), string(NatOnePerAz), string(NatSingle))

	// Storage.
	if b := a.Storage.ExistingBucketName; b != "" && (!bucketPattern.MatchString(b) || strings.Contains(b, "..") || parseAddrOrZero(b).Is4()) {
		p.add("existingBucketName", "%q is not a valid S3 bucket name (3-63 lower-case letters, digits, dots and hyphens); set it with: %s", b, p.setHint("existingBucketName", bucketExample))
	}
	p.inRange("noncurrentVersionExpirationDays", a.Storage.NoncurrentVersionExpirationDays, 0, 3650)
	p.inRange("abortIncompleteUploadDays", a.Storage.AbortIncompleteUploadDays, 1, 365)

	// Registry, as Synapse knows it.
	r := a.Registry
	if p.required("registryHost", r.Host, hostPlaceholder) {
		p.host("registryHost", r.Host, hostPlaceholder)
	}
	if p.required("tokenRealm", r.TokenRealm, realmExample) {
		p.httpsURL("tokenRealm", r.TokenRealm, realmExample)
	}
	if p.required("tokenIssuer", r.TokenIssuer, issuerExample) {
		p.host("tokenIssuer", r.TokenIssuer, issuerExample)
	}
	if p.required("tokenSigningCertificates", r.TokenSigningCertificates, pemExample) {
		a.validateSigningCertificates(p, now)
	}
	if p.required("notificationUrl", r.NotificationURL, listenerExample) {
		p.httpsURL("notificationUrl", r.NotificationURL, listenerExample)
	}
	// The secret's value is an output, so only its presence can be checked here; LoadConfig checks
	// a stack's value (encrypted, base64 "user:password") as it reads it.
	if r.NotificationAuth == (pulumi.StringOutput{}) {
		p.add("notificationAuth", "is required: the base64 \"user:password\" Synapse expects on every notification; set Registry.NotificationAuth (a secret output), or in a stack: pulumi config set --secret notificationAuth <base64 user:password> --stack %s", p.stack)
	}

	// Image.
	if ref := a.Image.Reference; ref != "" && !digestRefRegex.MatchString(ref) {
		p.add("image", "%q is not an image reference pinned by digest (registry/repository@sha256:<64 hex>); tasks run images by digest only. Set it with: %s, or remove it to build image/: pulumi config rm image --stack %s",
			ref, p.setHint("image", imagePlaceholder), p.stack)
	}
	p.inRange("ecrKeepImages", a.Image.KeepImages, 1, 1000)

	// Certificate and DNS.
	d := a.DNS
	if arn := d.CertificateArn; arn != "" {
		m := acmArnPattern.FindStringSubmatch(arn)
		switch {
		case m == nil:
			p.add("certificateArn", "%q is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<uuid>); set it with: %s", arn, p.setHint("certificateArn", arnPlaceholder))
		case a.Region != "" && m[2] != a.Region:
			p.add("certificateArn", "is in region %s but the load balancer is in %s; an ALB can only use a certificate from its own region. Request or import one in %s and set it with: %s", m[2], a.Region, a.Region, p.setHint("certificateArn", "<arn>"))
		}
	}
	zoneHint := a.zoneHint()
	p.host("hostedZoneName", d.HostedZoneName, zoneHint)
	zone := d.HostedZoneName
	switch {
	case d.CertificateArn == "" && zone == "":
		p.add("certificateArn", "the HTTPS listener needs a certificate: set an existing one with %s, or let the stack request one validated in Route 53 with %s",
			p.setHint("certificateArn", "<arn>"), p.setHint("hostedZoneName", zoneHint))
	case zone != "" && r.Host != "" && r.Host != zone && !strings.HasSuffix(r.Host, "."+zone):
		p.add("hostedZoneName", "%q does not contain registryHost %q; set the zone that holds the host with: %s", zone, r.Host, p.setHint("hostedZoneName", zoneHint))
	}
	if d.CreateDNSRecord && zone == "" {
		p.add("createDnsRecord", "is true but hostedZoneName is not set; set the zone with: %s, or disable the record with: %s", p.setHint("hostedZoneName", zoneHint), p.setHint("createDnsRecord", "false"))
	}

	// Service.
	s := a.Service
	p.inRange("cpu", s.CPU, 256, 16384)
	p.inRange("memory", s.Memory, 512, 122880)
	if options := fargateMemoryOptions(s.CPU); options == nil {
		if s.CPU >= 256 && s.CPU <= 16384 {
			p.add("cpu", "%d is not a Fargate CPU size (256, 512, 1024, 2048, 4096, 8192 or 16384); set it with: %s", s.CPU, p.setHint("cpu", "1024"))
		}
	} else if !slices.Contains(options, s.Memory) {
		p.add("memory", "%d MiB is not offered by Fargate with cpu %d (allowed: %d to %d MiB in steps of %d); set it with: %s",
			s.Memory, s.CPU, options[0], options[len(options)-1], stepOf(options), p.setHint("memory", strconv.Itoa(options[0])))
	}
	p.oneOf("architecture", string(s.Architecture), string(ARM64), string(X8664))
	p.inRange("desiredCount", s.DesiredCount, 1, 100)
	p.inRange("minCount", s.MinCount, 1, 100)
	p.inRange("maxCount", s.MaxCount, 1, 100)
	if s.MinCount > s.MaxCount {
		p.add("minCount", "%d is greater than maxCount %d; set them with: %s and %s", s.MinCount, s.MaxCount, p.setHint("minCount", strconv.Itoa(s.MaxCount)), p.setHint("maxCount", strconv.Itoa(s.MinCount)))
	} else if s.DesiredCount != 0 && (s.DesiredCount < s.MinCount || s.DesiredCount > s.MaxCount) {
		p.add("desiredCount", "%d is outside minCount..maxCount (%d..%d); set it with: %s", s.DesiredCount, s.MinCount, s.MaxCount, p.setHint("desiredCount", strconv.Itoa(s.MinCount)))
	}
	if a.Protect && s.MinCount != 0 && s.MinCount < 2 {
		p.add("minCount", "is %d but a protected (production) stack runs at least two tasks, one per availability zone; set it with: %s", s.MinCount, p.setHint("minCount", "2"))
	}
	if !slices.Contains(logRetentionDays, s.LogRetentionDays) {
		p.add("logRetentionDays", "%d is not a retention CloudWatch Logs accepts (%s); set it with: %s", s.LogRetentionDays, joinInts(logRetentionDays), p.setHint("logRetentionDays", "365"))
	}
	p.inRange("requestsPerTarget", s.RequestsPerTarget, 1, 100000)

	// Alarms.
	const alarmExample = "<address>,<another-address>"
	for i, e := range a.Alarms.Emails {
		if !p.email("alarmEmails", e, alarmExample, "%q is not an e-mail address (list plain addresses separated by commas); set it with: %s") {
			continue
		}
		if slices.Contains(a.Alarms.Emails[:i], e) {
			p.add("alarmEmails", "lists %q twice; set it with each address once: %s", e, p.setHint("alarmEmails", alarmExample))
		}
	}
}

// zoneHint suggests the zone from the stack's own registryHost (its parent domain), never
// another stack's zone.
func (a *DockerRegistryArgs) zoneHint() string {
	if h := a.Registry.Host; isHostName(h) && strings.Count(h, ".") >= 2 {
		return h[strings.Index(h, ".")+1:]
	}
	return zonePlaceholder
}

// validateSigningCertificates applies the entrypoint's own check (the stack accepts exactly the
// certificates the registry will) and refuses an expired certificate: tokens it verifies stop
// being accepted by clients that check validity, and a bundle left with only expired ones means
// Synapse has rotated its key and every login will fail. A certificate that is not yet expired is
// accepted however soon it expires: during a rotation Synapse's old and new certificates are
// listed together (Pulumi.yaml: "List two during a key rotation"), and the old one is removed
// after Synapse switches.
func (a *DockerRegistryArgs) validateSigningCertificates(p *problems, now time.Time) {
	const name = "tokenSigningCertificates"
	certs, found := registryconfig.ParseTokenCertificates(a.Registry.TokenSigningCertificates)
	for _, msg := range found {
		p.add(name, "%s; set Synapse's PEM certificate(s) with: %s", msg, p.setHint(name, pemExample))
	}
	for i, c := range certs {
		if now.After(c.NotAfter) {
			p.add(name, "certificate %d (subject %q, serial %s) expired on %s (NotAfter); remove it from the bundle, or set Synapse's current certificate(s) with: %s",
				i+1, c.Subject.String(), c.SerialNumber.String(), c.NotAfter.UTC().Format(time.RFC3339), p.setHint(name, pemExample))
		}
	}
}

var (
	dnsLabel       = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
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
