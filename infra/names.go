package infra

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// maxInstanceNameLength keeps every auto-name within AWS's limits: the tightest are an IAM role's,
// "<name>-execution" and "<name>-flow-logs", plus the provider's 8-character random suffix within
// 64 characters (pulumi-terraform-bridge's NewUniqueName refuses a longer one). Names with tighter
// limits still get a prefix or a short name instead (instanceNames.prefix, instanceNames.short).
const maxInstanceNameLength = 64 - len("-execution") - 8

// instanceNamePattern: ECR repository names and S3 bucket prefixes are lower case; a leading letter and
// no trailing hyphen keep every physical name derived from it valid.
var instanceNamePattern = regexp.MustCompile(`^[a-z][a-z0-9-]*[a-z0-9]$`)

// instanceNames derives the logical and physical names of one registry's resources, so that two
// registries in one program, or in one AWS account, never share one.
type instanceNames struct {
	project, stack, name string
	// keepStackURNs: this is the stack program's own instance, which keeps the URNs and physical
	// names its resources had before the component took a name.
	keepStackURNs bool
}

func newInstanceNames(project, stack, name string, keepStackURNs bool) (instanceNames, error) {
	if len(name) > maxInstanceNameLength || !instanceNamePattern.MatchString(name) {
		return instanceNames{}, fmt.Errorf("registry name %q: use 2 to %d lower-case letters, digits and hyphens, starting with a letter (it prefixes IAM role and ECR repository names)",
			name, maxInstanceNameLength)
	}
	return instanceNames{project: project, stack: stack, name: name, keepStackURNs: keepStackURNs}, nil
}

// child is the logical name of a child resource: a child's URN holds its parent's type, not its
// name, so two instances' children need names of their own.
func (n instanceNames) child(base string) string {
	return n.name + "-" + base
}

// isStackInstance reports whether this is the stack's own instance, named project-stack, whose
// explicit physical names stay the ones every stack deployed so far has.
func (n instanceNames) isStackInstance() bool {
	return n.name == StackInstanceName(n.project, n.stack)
}

// qualified is the account-wide name of this instance (dashboard, task family, VPC Name tag):
// project-stack for the stack's instance, project-stack-name for any other.
func (n instanceNames) qualified() string {
	if n.isStackInstance() {
		return n.name
	}
	return StackInstanceName(n.project, n.stack) + "-" + n.name
}

// path is this instance's part of a log group name: project/stack, or project/stack/name.
func (n instanceNames) path() string {
	if n.isStackInstance() {
		return n.project + "/" + n.stack
	}
	return n.project + "/" + n.stack + "/" + n.name
}

// prefix is a name prefix of at most max characters for kind, to which AWS (the provider) appends
// a unique suffix: as much of qualified() as fits, then kind. For S3 buckets, whose names are
// limited to 63 characters (bucketPrefix to 37, "Bucket naming rules" and pulumi-aws's schema).
func (n instanceNames) prefix(kind string, max int) string {
	suffix := "-" + kind + "-"
	head := awsNameChars(n.qualified())
	if room := max - len(suffix); len(head) > room {
		head = head[:room]
	}
	return strings.TrimRight(head, "-") + suffix
}

// short is a name of at most 32 characters (the limit on load balancer and target group names,
// "Quotas for your Application Load Balancers"), unique per project, stack and instance: as much
// of qualified() as fits, then kind and a hash of the whole.
func (n instanceNames) short(kind string) string {
	sum := sha256.Sum256([]byte(n.project + "\x00" + n.stack + "\x00" + n.name))
	suffix := "-" + kind + "-" + hex.EncodeToString(sum[:])[:6]
	prefix := awsNameChars(n.qualified())
	if room := 32 - len(suffix); len(prefix) > room {
		prefix = prefix[:room]
	}
	for len(prefix) > 0 && prefix[len(prefix)-1] == '-' {
		prefix = prefix[:len(prefix)-1]
	}
	return prefix + suffix
}

// awsNameChars maps a name to the characters every AWS name here accepts (lower-case letters,
// digits, hyphens): a project name may hold others (upper case, underscores, dots).
func awsNameChars(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return '-'
	}, name)
}

// awsProviderIn returns the AWS provider passed in opts (pulumi.Provider or pulumi.Providers), or nil.
func awsProviderIn(opts []pulumi.ResourceOption) (*aws.Provider, error) {
	options, err := pulumi.NewResourceOptions(opts...)
	if err != nil {
		return nil, err
	}
	if p, ok := options.Provider.(*aws.Provider); ok {
		return p, nil
	}
	for _, p := range options.Providers {
		if p, ok := p.(*aws.Provider); ok {
			return p, nil
		}
	}
	return nil, nil
}

// FreshStackNames are the physical names (or name prefixes) the stack's own instance gives the
// resources it names explicitly when it creates them in a fresh account; a stack deployed before
// the component took a name keeps the auto-names it has (ignoreChanges). ci/roles scopes the
// deploy and preview roles to both.
type FreshStackNames struct {
	LoadBalancer, TargetGroup, AccessLogsBucketPrefix, ImageBucketPrefix string
}

// StackFreshNames returns FreshStackNames for the stack program's instance of project and stack.
func StackFreshNames(project, stack string) FreshStackNames {
	n := instanceNames{project: project, stack: stack, name: StackInstanceName(project, stack), keepStackURNs: true}
	return FreshStackNames{
		LoadBalancer:           n.short("alb"),
		TargetGroup:            n.short("tg"),
		AccessLogsBucketPrefix: n.prefix("alb-logs", 37),
		ImageBucketPrefix:      n.prefix("images", 37),
	}
}
