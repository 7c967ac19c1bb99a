package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ComponentType is the type of the component that parents every resource of the stack.
const ComponentType = "synapse:registry:DockerRegistry"

// Outputs are the stack outputs (see README "Outputs").
type Outputs struct {
	RegistryEndpoint pulumi.StringOutput // https://<registryHost>
	AlbDNSName       pulumi.StringOutput
	BucketName       pulumi.StringOutput
	EcrRepositoryURL pulumi.StringOutput
	ImageDigest      pulumi.StringOutput // repository@sha256:… the task runs
	SecretArn        pulumi.StringOutput
	ClusterName      pulumi.StringOutput
	ServiceName      pulumi.StringOutput
	LogGroupName     pulumi.StringOutput
	// TaskDefinitionArn is the revision the service must run; cmd/verifydeploy compares it with
	// what ECS runs after `pulumi up` (a circuit-breaker rollback reports success).
	TaskDefinitionArn pulumi.StringOutput
	AlarmTopicArn     pulumi.StringOutput // SNS topic every alarm notifies
	// NotificationQueueURL and NotificationDeadLetterURL are the relay's SQS queues.
	NotificationQueueURL      pulumi.StringOutput
	NotificationDeadLetterURL pulumi.StringOutput
}

// Export publishes the outputs under the names documented in the README.
func (o *Outputs) Export(ctx *pulumi.Context) {
	ctx.Export("registryEndpoint", o.RegistryEndpoint)
	ctx.Export("albDnsName", o.AlbDNSName)
	ctx.Export("bucketName", o.BucketName)
	ctx.Export("ecrRepositoryUrl", o.EcrRepositoryURL)
	ctx.Export("imageDigest", o.ImageDigest)
	ctx.Export("secretArn", o.SecretArn)
	ctx.Export("clusterName", o.ClusterName)
	ctx.Export("serviceName", o.ServiceName)
	ctx.Export("logGroupName", o.LogGroupName)
	ctx.Export("taskDefinitionArn", o.TaskDefinitionArn)
	ctx.Export("alarmTopicArn", o.AlarmTopicArn)
	ctx.Export("notificationQueueUrl", o.NotificationQueueURL)
	ctx.Export("notificationDeadLetterQueueUrl", o.NotificationDeadLetterURL)
}

// scope carries what every resource declaration needs: the context, the validated config and the
// parent component (which also hands its explicit AWS provider, with default tags, to children).
type scope struct {
	ctx      *pulumi.Context
	cfg      *DockerRegistryArgs
	parent   pulumi.Resource
	provider *aws.Provider
}

// opts returns the options every resource of the stack gets, plus any extra ones.
func (s *scope) opts(extra ...pulumi.ResourceOption) []pulumi.ResourceOption {
	return append([]pulumi.ResourceOption{pulumi.Parent(s.parent)}, extra...)
}

// invokeOpts routes data-source lookups through the same provider (same region and account).
func (s *scope) invokeOpts() []pulumi.InvokeOption {
	return []pulumi.InvokeOption{pulumi.Provider(s.provider)}
}

// Deploy validates the stack configuration and declares the whole registry stack. It declares
// nothing when the configuration has a problem.
func Deploy(ctx *pulumi.Context) (*Outputs, error) {
	cfg, err := LoadConfig(ctx)
	if err != nil {
		return nil, err
	}
	return NewRegistryStack(ctx, cfg)
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

// NewRegistryStack declares every resource, in the order the data flows:
// network → storage, secrets, image → certificate → load balancer → service → autoscaling →
// monitoring → DNS.
func NewRegistryStack(ctx *pulumi.Context, cfg *DockerRegistryArgs) (*Outputs, error) {
	provider, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{
		Region:      pulumi.String(cfg.Region),
		DefaultTags: &aws.ProviderDefaultTagsArgs{Tags: pulumi.ToStringMap(DefaultTags(cfg))},
	})
	if err != nil {
		return nil, err
	}
	component := &registryComponent{}
	if err := ctx.RegisterComponentResource(ComponentType, fmt.Sprintf("%s-%s", cfg.Project, cfg.Stack), component,
		pulumi.Providers(provider)); err != nil {
		return nil, err
	}
	s := &scope{ctx: ctx, cfg: cfg, parent: component, provider: provider}

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

	out := &Outputs{
		RegistryEndpoint:          pulumi.Sprintf("https://%s", cfg.Registry.Host),
		AlbDNSName:                lb.DNSName,
		BucketName:                storage.BucketName,
		EcrRepositoryURL:          image.RepositoryURL,
		ImageDigest:               image.DigestReference,
		SecretArn:                 secrets.Arn,
		ClusterName:               service.ClusterName,
		ServiceName:               service.ServiceName,
		LogGroupName:              service.LogGroupName,
		TaskDefinitionArn:         service.TaskDefinitionArn,
		AlarmTopicArn:             monitoring.AlarmTopicArn,
		NotificationQueueURL:      notifications.QueueURL,
		NotificationDeadLetterURL: notifications.DeadLetterURL,
	}
	err = ctx.RegisterResourceOutputs(component, pulumi.Map{
		"registryEndpoint": out.RegistryEndpoint,
		"albDnsName":       out.AlbDNSName,
	})
	return out, err
}

type registryComponent struct {
	pulumi.ResourceState
}
