package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ComponentType is the type of the component that parents every resource of the stack.
const ComponentType = "synapse:registry:DockerRegistry"

// DockerRegistry is the component that parents every resource of one registry: declare it with
// NewDockerRegistry. Its fields are its outputs, all registered with the component (README "Outputs").
type DockerRegistry struct {
	pulumi.ResourceState

	RegistryEndpoint pulumi.StringOutput `pulumi:"registryEndpoint"` // https://<registryHost>
	AlbDNSName       pulumi.StringOutput `pulumi:"albDnsName"`
	BucketName       pulumi.StringOutput `pulumi:"bucketName"`
	EcrRepositoryURL pulumi.StringOutput `pulumi:"ecrRepositoryUrl"`
	ImageDigest      pulumi.StringOutput `pulumi:"imageDigest"` // repository@sha256:… the task runs
	SecretArn        pulumi.StringOutput `pulumi:"secretArn"`
	ClusterName      pulumi.StringOutput `pulumi:"clusterName"`
	ServiceName      pulumi.StringOutput `pulumi:"serviceName"`
	LogGroupName     pulumi.StringOutput `pulumi:"logGroupName"`
	// TaskDefinitionArn is the revision the service must run; cmd/verifydeploy compares it with
	// what ECS runs after `pulumi up` (a circuit-breaker rollback reports success).
	TaskDefinitionArn pulumi.StringOutput `pulumi:"taskDefinitionArn"`
	AlarmTopicArn     pulumi.StringOutput `pulumi:"alarmTopicArn"` // SNS topic every alarm notifies
	// NotificationQueueURL and NotificationDeadLetterURL are the relay's SQS queues.
	NotificationQueueURL      pulumi.StringOutput `pulumi:"notificationQueueUrl"`
	NotificationDeadLetterURL pulumi.StringOutput `pulumi:"notificationDeadLetterQueueUrl"`
}

// OutputMap is every output under its README name: what the component registers and the stack
// program exports.
func (r *DockerRegistry) OutputMap() pulumi.Map {
	return pulumi.Map{
		"registryEndpoint":               r.RegistryEndpoint,
		"albDnsName":                     r.AlbDNSName,
		"bucketName":                     r.BucketName,
		"ecrRepositoryUrl":               r.EcrRepositoryURL,
		"imageDigest":                    r.ImageDigest,
		"secretArn":                      r.SecretArn,
		"clusterName":                    r.ClusterName,
		"serviceName":                    r.ServiceName,
		"logGroupName":                   r.LogGroupName,
		"taskDefinitionArn":              r.TaskDefinitionArn,
		"alarmTopicArn":                  r.AlarmTopicArn,
		"notificationQueueUrl":           r.NotificationQueueURL,
		"notificationDeadLetterQueueUrl": r.NotificationDeadLetterURL,
	}
}

// Export publishes the outputs as stack outputs under the names documented in the README.
func (r *DockerRegistry) Export(ctx *pulumi.Context) {
	for name, output := range r.OutputMap() {
		ctx.Export(name, output)
	}
}

// scope carries what every resource declaration needs: the context, the validated config, the
// parent component (which also hands its explicit AWS provider, with default tags, to children)
// and the names that keep this instance's children apart from another instance's.
type scope struct {
	ctx      *pulumi.Context
	cfg      *DockerRegistryArgs
	parent   pulumi.Resource
	provider *aws.Provider
	// ownProvider is true when the component created the provider itself (none was passed in).
	ownProvider bool
	names       instanceNames
}

// name is the logical name of the child declared as base ("images", "registry-nat-1"): prefixed
// with the instance's name, because a child's URN holds its parent's type but not its name.
func (s *scope) name(base string) string {
	return s.names.child(base)
}

// opts returns the options the child declared as base gets: parented to the component, an alias
// to its URN from before the component took a name (the stack's own instance only), plus extra.
func (s *scope) opts(base string, extra ...pulumi.ResourceOption) []pulumi.ResourceOption {
	opts := []pulumi.ResourceOption{pulumi.Parent(s.parent)}
	if s.names.keepStackURNs {
		opts = append(opts, pulumi.Aliases([]pulumi.Alias{{Name: pulumi.String(base)}}))
	}
	if s.ownProvider {
		opts = append(opts, pulumi.Providers(s.provider))
	}
	return append(opts, extra...)
}

// keepAutoName is for a child whose name AWS limits to fewer characters than its logical name plus
// Pulumi's random suffix (load balancer, target group, S3 bucket): it gets an explicit
// name or prefix of its own (instanceNames.short, instanceNames.prefix), but the stack's instance
// keeps the auto-name it was created with, as ignoring a change keeps the value in state.
func (s *scope) keepAutoName(inputs ...string) []pulumi.ResourceOption {
	if s.names.keepStackURNs {
		return []pulumi.ResourceOption{pulumi.IgnoreChanges(inputs)}
	}
	return nil
}

// invokeOpts routes data-source lookups through the same provider (same region and account).
func (s *scope) invokeOpts() []pulumi.InvokeOption {
	return []pulumi.InvokeOption{pulumi.Provider(s.provider)}
}

// Deploy is the stack program: it validates the stack configuration, creates the stack's AWS
// provider and declares the stack's one registry. It declares nothing when the configuration has
// a problem.
func Deploy(ctx *pulumi.Context) (*DockerRegistry, error) {
	cfg, err := LoadConfig(ctx)
	if err != nil {
		return nil, err
	}
	name := StackInstanceName(ctx.Project(), ctx.Stack())
	if _, err := newInstanceNames(ctx.Project(), ctx.Stack(), name, true); err != nil {
		return nil, fmt.Errorf("stack %q: the stack's registry is named %q, which prefixes its resources' names (IAM roles, ECR repository), so the stack name must be at most %d lower-case letters, digits and hyphens; create the stack under such a name (pulumi stack init, or pulumi stack rename)",
			ctx.Stack(), name, maxInstanceNameLength-len(ctx.Project())-1)
	}
	// At the root under the name "aws", where every stack deployed so far has it.
	provider, err := NewProvider(ctx, "aws", cfg)
	if err != nil {
		return nil, err
	}
	return newDockerRegistry(ctx, name, cfg, true, pulumi.Providers(provider))
}

// StackInstanceName is the name of the stack program's registry, the one the component had before
// it could be declared twice.
func StackInstanceName(project, stack string) string {
	return project + "-" + stack
}

// NewProvider creates an AWS provider for the registry's region whose default tags reach every
// taggable resource.
func NewProvider(ctx *pulumi.Context, name string, cfg *DockerRegistryArgs, opts ...pulumi.ResourceOption) (*aws.Provider, error) {
	return aws.NewProvider(ctx, name, &aws.ProviderArgs{
		Region:      pulumi.String(cfg.Region),
		DefaultTags: &aws.ProviderDefaultTagsArgs{Tags: pulumi.ToStringMap(DefaultTags(cfg))},
	}, opts...)
}

// DefaultTags are the tags the provider applies to every taggable resource.
func DefaultTags(cfg *DockerRegistryArgs) map[string]string {
	return map[string]string{
		"CostCenter": cfg.CostCenter,
		"OwnerEmail": cfg.OwnerEmail,
		"Project":    cfg.Project,
		"Stack":      cfg.Stack,
	}
}

// NewDockerRegistry declares one registry: every resource, parented to the component and named
// from name, so that one program can declare several. Pass the AWS provider with pulumi.Providers
// or pulumi.Provider; without one the component creates its own from args.Region. args built in
// code are validated like a stack's configuration, and nothing is declared when they have a
// problem.
func NewDockerRegistry(ctx *pulumi.Context, name string, args *DockerRegistryArgs, opts ...pulumi.ResourceOption) (*DockerRegistry, error) {
	return newDockerRegistry(ctx, name, args, false, opts...)
}

// newDockerRegistry declares every resource, in the order the data flows:
// network → storage, secrets, image → certificate → load balancer → service → autoscaling →
// monitoring → DNS. keepStackURNs aliases each child to the URN it had before the component took
// a name: only the stack program's own instance has such a past.
func newDockerRegistry(ctx *pulumi.Context, name string, cfg *DockerRegistryArgs, keepStackURNs bool, opts ...pulumi.ResourceOption) (*DockerRegistry, error) {
	if cfg == nil {
		return nil, fmt.Errorf("registry %q: args are nil; build a DockerRegistryArgs (or read one with LoadConfig)", name)
	}
	names, err := newInstanceNames(ctx.Project(), ctx.Stack(), name, keepStackURNs)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	provider, err := awsProviderIn(opts)
	if err != nil {
		return nil, err
	}
	component := &DockerRegistry{}
	if err := ctx.RegisterComponentResource(ComponentType, name, component, opts...); err != nil {
		return nil, err
	}
	s := &scope{ctx: ctx, cfg: cfg, parent: component, provider: provider, names: names}
	if provider == nil {
		// Created under the component, so it is not in the component's provider map: every child
		// names it.
		if s.provider, err = NewProvider(ctx, names.child("aws"), cfg, pulumi.Parent(component)); err != nil {
			return nil, err
		}
		s.ownProvider = true
	}

	network, err := newNetwork(s)
	if err != nil {
		return nil, err
	}
	storage, err := newImageStorage(s)
	if err != nil {
		return nil, err
	}
	secrets, err := newRegistrySecrets(s)
	if err != nil {
		return nil, err
	}
	image, err := newRegistryImage(s)
	if err != nil {
		return nil, err
	}
	certificateArn, err := newCertificate(s)
	if err != nil {
		return nil, err
	}
	groups, err := newSecurityGroups(s, network)
	if err != nil {
		return nil, err
	}
	lb, err := newLoadBalancer(s, network, groups, certificateArn)
	if err != nil {
		return nil, err
	}
	alarmTopicArn, err := newAlarmTopic(s)
	if err != nil {
		return nil, err
	}
	notifications, err := newNotificationQueues(s, alarmTopicArn)
	if err != nil {
		return nil, err
	}
	service, err := newService(s, serviceInputs{
		network: network, groups: groups, storage: storage, secrets: secrets, image: image, lb: lb,
		notifications: notifications,
	})
	if err != nil {
		return nil, err
	}
	if err := newRelayRestartsAlarm(s, service.LogGroupName, alarmTopicArn); err != nil {
		return nil, err
	}
	if err := newAutoscaling(s, service, lb); err != nil {
		return nil, err
	}
	monitoring, err := newMonitoring(s, monitoringInputs{lb: lb, service: service, alarmTopicArn: alarmTopicArn})
	if err != nil {
		return nil, err
	}
	if err := newDNSRecord(s, lb); err != nil {
		return nil, err
	}

	component.RegistryEndpoint = pulumi.Sprintf("https://%s", cfg.Registry.Host)
	component.AlbDNSName = lb.DNSName
	component.BucketName = storage.BucketName
	component.EcrRepositoryURL = image.RepositoryURL
	component.ImageDigest = image.DigestReference
	component.SecretArn = secrets.Arn
	component.ClusterName = service.ClusterName
	component.ServiceName = service.ServiceName
	component.LogGroupName = service.LogGroupName
	component.TaskDefinitionArn = service.TaskDefinitionArn
	component.AlarmTopicArn = monitoring.AlarmTopicArn
	component.NotificationQueueURL = notifications.QueueURL
	component.NotificationDeadLetterURL = notifications.DeadLetterURL
	if err := ctx.RegisterResourceOutputs(component, component.OutputMap()); err != nil {
		return nil, err
	}
	return component, nil
}
