package infra

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"
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

// DockerRegistryArgs is the whole registry configuration. LoadConfig builds it from stack config
// (the only place that reads raw config keys); a program may build it in code. Either way
// Validate checks it before any resource is declared.
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

// configReader turns raw stack config into typed values, recording a problem for every value it
// cannot parse (a wrong type, a secret in plain text) instead of stopping at the first.
type configReader struct {
	ctx *pulumi.Context
	*problems
}

func (r *configReader) raw(name string) string {
	v, _ := r.ctx.GetConfig(r.key(name))
	return strings.TrimSpace(v)
}

// unparsable records that name's value has the wrong type; Validate's checks of the zero value
// that stands for it are then skipped.
func (r *configReader) unparsable(name, format string, args ...any) {
	r.add(name, format, args...)
	r.unparsed[name] = true
}

// integer reads an int; an empty value is left 0 for Validate to report.
func (r *configReader) integer(name string) int {
	v := r.raw(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.unparsable(name, "%q is not an integer; set it with: %s", v, r.setHint(name, "<integer>"))
	}
	return n
}

func (r *configReader) boolean(name string) bool {
	v := r.raw(name)
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.unparsable(name, "%q is not true or false; set it with: %s", v, r.setHint(name, "true"))
	}
	return b
}

// LoadConfig reads the stack configuration into DockerRegistryArgs and validates it. It reports
// every problem at once — values it cannot parse and every check of Validate — and is called
// before any resource is declared, so bad input creates nothing.
func LoadConfig(ctx *pulumi.Context) (*DockerRegistryArgs, error) {
	r := &configReader{ctx: ctx, problems: &problems{project: ctx.Project(), stack: ctx.Stack(), unparsed: map[string]bool{}}}
	c := &DockerRegistryArgs{Project: ctx.Project(), Stack: ctx.Stack()}
	r.checkStackKeys()

	c.Region = r.raw("aws:region")
	c.CostCenter = r.raw("costCenter")
	c.OwnerEmail = r.raw("ownerEmail")
	c.Protect = r.boolean("protect")

	if cidr := r.raw("vpcCidr"); cidr != "" {
		prefix, err := netip.ParsePrefix(cidr)
		if err != nil {
			r.unparsable("vpcCidr", "%q is not an IPv4 CIDR block; set it with: %s", cidr, r.setHint("vpcCidr", "<a.b.c.0>/24"))
		}
		c.Network.VpcCidr = prefix
	}
	c.Network.NatGateways = NatStrategy(r.raw("natGateways"))

	c.Storage.ExistingBucketName = r.raw("existingBucketName")
	c.Storage.NoncurrentVersionExpirationDays = r.integer("noncurrentVersionExpirationDays")
	c.Storage.AbortIncompleteUploadDays = r.integer("abortIncompleteUploadDays")

	c.Registry.Host = r.raw("registryHost")
	c.Registry.TokenRealm = r.raw("tokenRealm")
	c.Registry.TokenIssuer = r.raw("tokenIssuer")
	c.Registry.TokenSigningCertificates = r.raw("tokenSigningCertificates")
	c.Registry.NotificationURL = r.raw("notificationUrl")
	c.Registry.NotificationAuth = pulumi.ToSecret(pulumi.String(r.loadNotificationAuth())).(pulumi.StringOutput)

	c.Image.Reference = r.raw("image")
	c.Image.KeepImages = r.integer("ecrKeepImages")

	c.DNS.CertificateArn = r.raw("certificateArn")
	c.DNS.HostedZoneName = strings.TrimSuffix(r.raw("hostedZoneName"), ".")
	c.DNS.CreateDNSRecord = r.boolean("createDnsRecord")

	c.LB.AccessLogs = r.boolean("accessLogs")

	s := &c.Service
	s.CPU = r.integer("cpu")
	s.Memory = r.integer("memory")
	s.Architecture = Architecture(r.raw("architecture"))
	s.DesiredCount = r.integer("desiredCount")
	s.MinCount = r.integer("minCount")
	s.MaxCount = r.integer("maxCount")
	s.LogRetentionDays = r.integer("logRetentionDays")
	s.RequestsPerTarget = r.integer("requestsPerTarget")

	for _, e := range strings.Split(r.raw("alarmEmails"), ",") {
		if e = strings.TrimSpace(e); e != "" {
			c.Alarms.Emails = append(c.Alarms.Emails, e)
		}
	}

	c.validate(r.problems, time.Now())
	if err := r.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// loadNotificationAuth returns the notification secret, which must be set as a Pulumi secret and
// be the base64 "user:password" Synapse checks. Validate cannot see it (it is an output), so the
// checks live here.
func (r *configReader) loadNotificationAuth() string {
	const name = "notificationAuth"
	fix := fmt.Sprintf(`pulumi config set --secret %s "$(printf '%%s' '<user>:<password>' | base64 | tr -d '\n')" --stack %s`, name, r.stack)
	v := r.raw(name)
	if v == "" {
		r.add(name, "is required: the base64 \"user:password\" Synapse expects on every notification. Set it (encrypted) with: %s", fix)
		return ""
	}
	if !r.ctx.IsConfigSecret(r.key(name)) {
		r.add(name, "is stored in plain text; it must be encrypted. Set it again with: %s", fix)
	}
	if strings.ContainsAny(v, " \t\r\n") {
		r.add(name, "contains white space or a line break (base64 wraps long input), which would break the Authorization header; set it with: %s", fix)
		return v
	}
	decoded, err := base64.StdEncoding.DecodeString(v)
	if err != nil || !strings.Contains(string(decoded), ":") || strings.HasPrefix(string(decoded), ":") {
		r.add(name, "is not the base64 encoding of \"user:password\"; set it with: %s", fix)
	}
	return v
}

// awsProviderKeys are the settings the aws provider reads from stack config (pulumi-aws
// sdk/go/aws/config/config.go). The program's provider is explicit and takes only aws:region
// from them; the rest would be silently ignored.
var awsProviderKeys = []string{
	"aws:accessKey", "aws:allowedAccountIds", "aws:assumeRole", "aws:assumeRoleWithWebIdentity",
	"aws:customCaBundle", "aws:defaultTags", "aws:ec2MetadataServiceEndpoint",
	"aws:ec2MetadataServiceEndpointMode", "aws:endpoints", "aws:forbiddenAccountIds", "aws:httpProxy",
	"aws:httpsProxy", "aws:ignoreTags", "aws:insecure", "aws:maxRetries", "aws:noProxy", "aws:profile",
	"aws:region", "aws:retryMode", "aws:s3UsePathStyle", "aws:secretKey", "aws:sharedConfigFiles",
	"aws:sharedCredentialsFiles", "aws:skipCredentialsValidation", "aws:skipMetadataApiCheck",
	"aws:skipRegionValidation", "aws:skipRequestingAccountId", "aws:stsRegion", "aws:token",
	"aws:tokenBucketRateLimiterCapacity", "aws:useDualstackEndpoint", "aws:useFipsEndpoint",
}

// checkStackKeys reports every key of the stack file that the program would ignore: a key of
// this project that Pulumi.yaml does not declare (the project's config schema), or an aws key
// other than aws:region, each naming the key it most likely meant. Without it a typo such as
// tokenRelam silently leaves the default in force. Other namespaces (pulumi:, other providers)
// are not the program's to judge. When the project files cannot be read (the program runs
// outside its project directory), there is nothing to compare and nothing is reported.
func (r *configReader) checkStackKeys() {
	dir := r.ctx.RootDirectory()
	var proj struct {
		StackConfigDir string         `yaml:"stackConfigDir"`
		Config         map[string]any `yaml:"config"`
	}
	if err := readYAML(filepath.Join(dir, "Pulumi.yaml"), &proj); err != nil || len(proj.Config) == 0 {
		return
	}
	var stack struct {
		Config map[string]any `yaml:"config"`
	}
	if err := readYAML(filepath.Join(dir, proj.StackConfigDir, "Pulumi."+r.stack+".yaml"), &stack); err != nil {
		return
	}
	declared := make([]string, 0, len(proj.Config))
	for k := range proj.Config {
		declared = append(declared, r.key(k))
	}
	keys := make([]string, 0, len(stack.Config))
	for k := range stack.Config {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	rm := func(k string) string { return fmt.Sprintf("pulumi config rm %s --stack %s", k, r.stack) }
	for _, k := range keys {
		ns, name, _ := strings.Cut(k, ":")
		switch {
		case ns == r.project && !slices.Contains(declared, k):
			r.add(k, "is not a setting of this project (Pulumi.yaml declares every key)%s; the program ignores it. Remove it with: %s", didYouMean(k, declared), rm(k))
		case ns == "aws" && !slices.Contains(awsProviderKeys, k):
			r.add(k, "is not a setting of the aws provider%s; remove it with: %s", didYouMean(k, awsProviderKeys), rm(k))
		case ns == "aws" && name != "region":
			r.add(k, "is ignored: the program's AWS provider is explicit and takes only aws:region from config (set credentials with AWS_PROFILE or aws sso login). Remove it with: %s", rm(k))
		}
	}
}

func didYouMean(k string, known []string) string {
	if near := registryconfig.Nearest(k, known, 3); near != "" {
		return "; did you mean " + near + "?"
	}
	return ""
}

func readYAML(path string, into any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return yaml.Unmarshal(b, into)
}
