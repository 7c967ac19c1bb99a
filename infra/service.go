package infra

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const (
	containerName = "registry"
	// scratchPath is the only writable path of the container (generated TLS key, config, JWKS).
	scratchPath   = registryconfig.ScratchPath
	scratchVolume = "scratch"
	// healthCheckGracePeriodSeconds covers task start: image pull, TLS key generation, first
	// storage health check.
	healthCheckGracePeriodSeconds = 120
	// stopTimeoutSeconds is Fargate's maximum (120 s): after the target has drained (see
	// deregistrationDelaySeconds, which is what keeps long pushes alive), the registry gets that
	// long after SIGTERM for what is left (its own drain timeout is shorter).
	stopTimeoutSeconds = 120
	// taskStartSeconds bounds a new task's start before its health checks count: image pull,
	// TLS key generation, first storage check (the grace period covers the rest).
	taskStartSeconds = 300
	// maxProtectionWindowSeconds is the longest an old task stays protected from scale-in and
	// deployments while uploads are in flight (image/taskprotection, MaxWindow: 4 h); ECS waits
	// for it before it drains the task. infra/timeouts_test.go checks the two agree.
	maxProtectionWindowSeconds = 4 * 3600
	// serviceUpdateTimeout is how long `pulumi up` waits for a deployment to reach a steady state:
	// new tasks start and pass health checks, the old ones stay while protected (at most the
	// protection window), then drain for up to the deregistration delay and stop; plus ten
	// minutes of margin: 5 h 19 min at most, 79 minutes when no upload is in flight. The
	// provider's default (20 minutes) would fail a deployment that is only waiting for a push to
	// finish.
	serviceUpdateTimeout = (taskStartSeconds + healthCheckGracePeriodSeconds + maxProtectionWindowSeconds + deregistrationDelaySeconds + stopTimeoutSeconds + 600) * time.Second
	// serviceCreateTimeout: a first deployment has nothing to drain.
	serviceCreateTimeout = (taskStartSeconds + healthCheckGracePeriodSeconds + 1200) * time.Second
	// serviceDeleteTimeout: deleting the service scales it in, which waits for protected tasks,
	// and drains every task.
	serviceDeleteTimeout = (maxProtectionWindowSeconds + deregistrationDelaySeconds + stopTimeoutSeconds + 600) * time.Second
	secretVersionLabel   = "org.synapse.registry.secret-version"
)

// Container definition, typed (the ECS API's field names), so the JSON is generated, not written.
type containerDefinition struct {
	Name                   string            `json:"name"`
	Image                  string            `json:"image"`
	Essential              bool              `json:"essential"`
	User                   string            `json:"user"`
	Memory                 int               `json:"memory"`
	Privileged             bool              `json:"privileged"`
	ReadonlyRootFilesystem bool              `json:"readonlyRootFilesystem"`
	LinuxParameters        linuxParameters   `json:"linuxParameters"`
	PortMappings           []portMapping     `json:"portMappings"`
	Environment            []keyValue        `json:"environment"`
	Secrets                []containerSecret `json:"secrets"`
	MountPoints            []mountPoint      `json:"mountPoints"`
	LogConfiguration       logConfiguration  `json:"logConfiguration"`
	DockerLabels           map[string]string `json:"dockerLabels"`
	StopTimeout            int               `json:"stopTimeout"`
}

type linuxParameters struct {
	Capabilities struct {
		Drop []string `json:"drop"`
	} `json:"capabilities"`
}

type portMapping struct {
	Name          string `json:"name"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol"`
}

type keyValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type containerSecret struct {
	Name      string `json:"name"`
	ValueFrom string `json:"valueFrom"`
}

type mountPoint struct {
	SourceVolume  string `json:"sourceVolume"`
	ContainerPath string `json:"containerPath"`
	ReadOnly      bool   `json:"readOnly"`
}

type logConfiguration struct {
	LogDriver string            `json:"logDriver"`
	Options   map[string]string `json:"options"`
}

// Service is what autoscaling and the outputs need from the ECS service.
type Service struct {
	ClusterName  pulumi.StringOutput
	ServiceName  pulumi.StringOutput
	LogGroupName pulumi.StringOutput
	// TaskDefinitionArn is the revision the stack declares for the service.
	TaskDefinitionArn pulumi.StringOutput
}

type serviceInputs struct {
	network *Network
	groups  *SecurityGroups
	storage *Storage
	secrets *RegistrySecrets
	image   *RegistryImage
	lb      *LoadBalancer
	// notifications are the relay's queues (notifications.go).
	notifications *NotificationQueues
}

// registryEnvironment is the non-secret configuration of the image's entrypoint (image/README.md).
func registryEnvironment(cfg *DockerRegistryArgs, bucket, queueURL, deadLetterURL string) []keyValue {
	r := cfg.Registry
	return []keyValue{
		{Name: registryconfig.EnvTokenRealm, Value: r.TokenRealm},
		{Name: registryconfig.EnvTokenService, Value: r.Host},
		{Name: registryconfig.EnvTokenIssuer, Value: r.TokenIssuer},
		{Name: registryconfig.EnvTokenCertificates, Value: r.TokenSigningCertificates},
		{Name: registryconfig.EnvNotificationURL, Value: r.NotificationURL},
		{Name: registryconfig.EnvNotificationQueue, Value: queueURL},
		{Name: registryconfig.EnvNotificationDLQ, Value: deadLetterURL},
		{Name: registryconfig.EnvStorage, Value: registryconfig.StorageS3},
		{Name: registryconfig.EnvS3Bucket, Value: bucket},
		{Name: registryconfig.EnvS3Region, Value: cfg.Region},
		{Name: registryconfig.EnvListenAddr, Value: ":" + strconv.Itoa(RegistryPort)},
		{Name: registryconfig.EnvHealthAddr, Value: ":" + strconv.Itoa(HealthPort)},
		{Name: registryconfig.EnvScratchDir, Value: scratchPath},
	}
}

// registrySecrets injects each key of the JSON secret as its own variable, resolved by ECS at task
// start, so the values never appear in the task definition.
func registrySecrets(secretArn string) []containerSecret {
	return []containerSecret{
		{Name: registryconfig.EnvNotificationAuth, ValueFrom: fmt.Sprintf("%s:%s::", secretArn, SecretKeyNotificationAuth)},
		{Name: registryconfig.EnvHTTPSecret, ValueFrom: fmt.Sprintf("%s:%s::", secretArn, SecretKeyHTTPSecret)},
	}
}

func newService(s *scope, in serviceInputs) (*Service, error) {
	cfg := s.cfg
	cluster, err := ecs.NewCluster(s.ctx, s.name("registry"), &ecs.ClusterArgs{
		Settings: ecs.ClusterSettingArray{&ecs.ClusterSettingArgs{
			Name:  pulumi.String("containerInsights"),
			Value: pulumi.String("enabled"),
		}},
	}, s.opts("registry")...)
	if err != nil {
		return nil, err
	}
	logGroup, err := cloudwatch.NewLogGroup(s.ctx, s.name("registry"), &cloudwatch.LogGroupArgs{
		Name:            pulumi.String("/ecs/" + s.names.path()),
		RetentionInDays: pulumi.Int(cfg.Service.LogRetentionDays),
		// A protected stack's logs are its audit trail: a destroy, or the replacement a project or
		// stack rename causes (the name follows them), leaves the group and its logs in place.
	}, s.opts("registry", pulumi.RetainOnDelete(cfg.Protect))...)
	if err != nil {
		return nil, err
	}
	roles, err := newRoles(s, roleInputs{
		bucketArn:          in.storage.BucketArn,
		secretArn:          in.secrets.Arn,
		logGroupArn:        logGroup.Arn,
		pullRepositoryArns: in.image.PullRepositoryArns,
		clusterName:        cluster.Name,
	})
	if err != nil {
		return nil, err
	}
	notificationsPolicy, err := in.notifications.grantRelay(s, roles.TaskRoleID)
	if err != nil {
		return nil, err
	}
	roles.Policies = append(roles.Policies, notificationsPolicy)

	containers := resolveNamed(containerInputs{
		Image: in.image.DigestReference, Bucket: in.storage.BucketName, SecretArn: in.secrets.Arn, LogGroup: logGroup.Name,
		SecretVersion: in.secrets.VersionID, QueueURL: in.notifications.QueueURL, DeadLetterURL: in.notifications.DeadLetterURL,
	}, func(v containerValues) (string, error) {
		image, bucket, secretArn, group, secretVersion := v.Image, v.Bucket, v.SecretArn, v.LogGroup, v.SecretVersion
		queueURL, deadLetterURL := v.QueueURL, v.DeadLetterURL
		def := containerDefinition{
			Name:      containerName,
			Image:     image,
			Essential: true,
			User:      registryconfig.ContainerUser, // the image's numeric non-root user, enforced here too
			// The task's memory as the container's hard limit too: only then does the
			// container's own cgroup show it, where the entrypoint reads it to keep the
			// registry's Go heap under it (GOMEMLIMIT, image/README.md).
			Memory:                 cfg.Service.Memory,
			Privileged:             false,
			ReadonlyRootFilesystem: true,
			PortMappings: []portMapping{
				{Name: "registry-https", ContainerPort: RegistryPort, Protocol: "tcp"},
				{Name: "health-http", ContainerPort: HealthPort, Protocol: "tcp"},
			},
			Environment: registryEnvironment(cfg, bucket, queueURL, deadLetterURL),
			Secrets:     registrySecrets(secretArn),
			MountPoints: []mountPoint{{SourceVolume: scratchVolume, ContainerPath: scratchPath}},
			LogConfiguration: logConfiguration{LogDriver: "awslogs", Options: map[string]string{
				"awslogs-group":         group,
				"awslogs-region":        cfg.Region,
				"awslogs-stream-prefix": containerName,
				// Never block the registry on CloudWatch; buffer instead.
				"mode":            "non-blocking",
				"max-buffer-size": "25m",
			}},
			StopTimeout: stopTimeoutSeconds,
			// ECS reads secrets only when a task starts: naming the secret's version here makes a
			// changed secret a new task definition revision, so the service rolls its tasks.
			DockerLabels: map[string]string{secretVersionLabel: secretVersion},
		}
		def.LinuxParameters.Capabilities.Drop = []string{"ALL"}
		b, err := json.Marshal([]containerDefinition{def})
		return string(b), err
	})

	task, err := ecs.NewTaskDefinition(s.ctx, s.name("registry"), &ecs.TaskDefinitionArgs{
		Family:                  pulumi.String(s.names.qualified()),
		RequiresCompatibilities: pulumi.StringArray{pulumi.String("FARGATE")},
		NetworkMode:             pulumi.String("awsvpc"),
		Cpu:                     pulumi.String(strconv.Itoa(cfg.Service.CPU)),
		Memory:                  pulumi.String(strconv.Itoa(cfg.Service.Memory)),
		RuntimePlatform: &ecs.TaskDefinitionRuntimePlatformArgs{
			OperatingSystemFamily: pulumi.String("LINUX"),
			CpuArchitecture:       pulumi.String(string(cfg.Service.Architecture)),
		},
		ExecutionRoleArn:     roles.ExecutionRoleArn,
		TaskRoleArn:          roles.TaskRoleArn,
		ContainerDefinitions: containers,
		// A task-local volume: the scratch path stays writable while the root filesystem is not.
		Volumes: ecs.TaskDefinitionVolumeArray{&ecs.TaskDefinitionVolumeArgs{Name: pulumi.String(scratchVolume)}},
	}, s.opts("registry")...)
	if err != nil {
		return nil, err
	}

	// Tasks start only once the secret has a value, the roles can act and the listeners route:
	// otherwise the first deployment fails in ways that surface only as a tripped circuit breaker.
	startAfter := append([]pulumi.Resource{in.secrets.Version}, roles.Policies...)
	startAfter = append(startAfter, in.lb.Listeners...)
	service, err := ecs.NewService(s.ctx, s.name("registry"), &ecs.ServiceArgs{
		Cluster:         cluster.Arn,
		TaskDefinition:  task.Arn,
		DesiredCount:    pulumi.Int(cfg.Service.DesiredCount),
		LaunchType:      pulumi.String("FARGATE"),
		PlatformVersion: pulumi.String("LATEST"),
		NetworkConfiguration: &ecs.ServiceNetworkConfigurationArgs{
			Subnets:        in.network.PrivateSubnetIDs,
			SecurityGroups: pulumi.StringArray{in.groups.Task.ID()},
			AssignPublicIp: pulumi.Bool(false),
		},
		LoadBalancers: ecs.ServiceLoadBalancerArray{&ecs.ServiceLoadBalancerArgs{
			TargetGroupArn: in.lb.TargetGroupArn,
			ContainerName:  pulumi.String(containerName),
			ContainerPort:  pulumi.Int(RegistryPort),
		}},
		DeploymentCircuitBreaker: &ecs.ServiceDeploymentCircuitBreakerArgs{
			Enable:   pulumi.Bool(true),
			Rollback: pulumi.Bool(true),
		},
		// Never fewer healthy tasks than desired during a deployment.
		DeploymentMinimumHealthyPercent: pulumi.Int(100),
		DeploymentMaximumPercent:        pulumi.Int(200),
		HealthCheckGracePeriodSeconds:   pulumi.Int(healthCheckGracePeriodSeconds),
		// Keeps tasks spread evenly over the private subnets' availability zones.
		AvailabilityZoneRebalancing: pulumi.String("ENABLED"),
		WaitForSteadyState:          pulumi.Bool(true),
		PropagateTags:               pulumi.String("SERVICE"),
		EnableEcsManagedTags:        pulumi.Bool(true),
	}, s.opts("registry",
		pulumi.DependsOn(startAfter),
		// Autoscaling owns the running count after creation; an update must not reset it.
		pulumi.IgnoreChanges([]string{"desiredCount"}),
		pulumi.Timeouts(&pulumi.CustomTimeouts{
			Create: serviceCreateTimeout.String(), Update: serviceUpdateTimeout.String(), Delete: serviceDeleteTimeout.String(),
		}),
	)...)
	if err != nil {
		return nil, err
	}
	return &Service{ClusterName: cluster.Name, ServiceName: service.Name, LogGroupName: logGroup.Name, TaskDefinitionArn: task.Arn}, nil
}

// containerInputs are the deployment-time values the container definition names, resolved into
// containerValues (see resolveNamed).
type containerInputs struct {
	Image, Bucket, SecretArn, LogGroup, SecretVersion, QueueURL, DeadLetterURL pulumi.StringInput
}

type containerValues struct {
	Image, Bucket, SecretArn, LogGroup, SecretVersion, QueueURL, DeadLetterURL string
}

func (containerInputs) ElementType() reflect.Type { return reflect.TypeFor[containerValues]() }
