package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"reflect"
)

// Inline policy names (AWS: 1-128 characters of [\w+=,.@-]).
const (
	executionPolicyName      = "pull-image-write-logs-read-secret"
	taskPolicyName           = "registry-image-bucket"
	taskProtectionPolicyName = "protect-own-task-from-scale-in"
)

// taskProtectionActions: the registry protects its task from scale-in and deployments while
// uploads are in flight (image/taskprotection). It calls the ECS agent's endpoint with PUTs
// only, which the agent turns into UpdateTaskProtection calls with the task role's credentials;
// it never reads the protection (a GET, ecs:GetTaskProtection). AWS, "Protect your Amazon ECS
// tasks from being terminated by scale-in events", IAM permissions.
var taskProtectionActions = []string{"ecs:UpdateTaskProtection"}

// Roles of the task: the execution role is ECS's (pull the image, write logs, read the secret),
// the task role is the registry's (the image bucket, nothing else). Neither has an access key.
type Roles struct {
	ExecutionRoleArn pulumi.StringOutput
	TaskRoleArn      pulumi.StringOutput
	// TaskRoleID names the task role in further policies (notifications.go).
	TaskRoleID pulumi.StringOutput
	// Policies must be attached before tasks start, or the first task fails to pull or log.
	Policies []pulumi.Resource
}

type roleInputs struct {
	bucketArn          pulumi.StringOutput
	secretArn          pulumi.StringOutput
	logGroupArn        pulumi.StringOutput
	pullRepositoryArns []pulumi.StringOutput
	// clusterName scopes the task protection to the cluster's tasks.
	clusterName pulumi.StringOutput
}

// Actions the registry's S3 driver uses (distribution's s3-aws driver documentation).
var (
	bucketActions = []string{"s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"}
	objectActions = []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"}
)

func callerAccountID(s *scope) pulumi.StringOutput {
	return aws.GetCallerIdentityOutput(s.ctx, aws.GetCallerIdentityOutputArgs{}, s.invokeOpts()...).AccountId()
}

func newRoles(s *scope, in roleInputs) (*Roles, error) {
	assume := assumeRolePolicy("ecs-tasks.amazonaws.com", callerAccountID(s))

	execution, err := iam.NewRole(s.ctx, s.name("execution"), &iam.RoleArgs{
		Description:      pulumi.String("ECS pulls the registry image, writes its logs and reads its secret"),
		AssumeRolePolicy: assume,
	}, s.opts("execution")...)
	if err != nil {
		return nil, err
	}
	repositories := pulumi.StringArray{}
	for _, arn := range in.pullRepositoryArns {
		repositories = append(repositories, arn)
	}
	executionPolicy, err := iam.NewRolePolicy(s.ctx, s.name("execution-policy"), &iam.RolePolicyArgs{
		Role: execution.ID(),
		Name: pulumi.String(executionPolicyName),
		Policy: policyJSONFrom(executionPolicyInputs{
			LogGroupArn: in.logGroupArn, SecretArn: in.secretArn, PullRepositoryArns: repositories,
		}, func(v executionPolicyValues) PolicyDocument {
			statements := []PolicyStatement{
				allow([]string{"logs:CreateLogStream", "logs:PutLogEvents"}, v.LogGroupArn+":log-stream:*"),
				allow([]string{"secretsmanager:GetSecretValue"}, v.SecretArn),
			}
			if repos := v.PullRepositoryArns; len(repos) > 0 {
				statements = append(statements,
					allow([]string{"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}, repos...),
					// GetAuthorizationToken has no resource-level permissions; it only returns a login
					// token, and the repository statement above still limits what can be pulled.
					allow([]string{"ecr:GetAuthorizationToken"}, "*"))
			}
			return policy(statements...)
		}),
	}, s.opts("execution-policy")...)
	if err != nil {
		return nil, err
	}

	task, err := iam.NewRole(s.ctx, s.name("task"), &iam.RoleArgs{
		Description:      pulumi.String("the registry reads and writes its image bucket"),
		AssumeRolePolicy: assume,
	}, s.opts("task")...)
	if err != nil {
		return nil, err
	}
	taskPolicy, err := iam.NewRolePolicy(s.ctx, s.name("task-policy"), &iam.RolePolicyArgs{
		Role: task.ID(),
		Name: pulumi.String(taskPolicyName),
		Policy: policyJSON(in.bucketArn, func(bucketArn string) PolicyDocument {
			return policy(allow(bucketActions, bucketArn), allow(objectActions, bucketArn+"/*"))
		}),
	}, s.opts("task-policy")...)
	if err != nil {
		return nil, err
	}
	// UpdateTaskProtection's resource is the task (arn:aws:ecs:<region>:<account>:task/<cluster>/<id>,
	// Service Authorization Reference; aws-cdk-lib aws-ecs/lib/cluster-grants.ts grants it on
	// the cluster's tasks the same way). A task's id is known only once it runs, so the scope is
	// this cluster's tasks: the role can protect no task of another cluster.
	protectionPolicy, err := iam.NewRolePolicy(s.ctx, s.name("task-protection-policy"), &iam.RolePolicyArgs{
		Role: task.ID(),
		Name: pulumi.String(taskProtectionPolicyName),
		Policy: policyJSONFrom(taskProtectionInputs{AccountID: callerAccountID(s), ClusterName: in.clusterName},
			func(v taskProtectionValues) PolicyDocument {
				return policy(allow(taskProtectionActions, fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/*", s.cfg.Region, v.AccountID, v.ClusterName)))
			}),
	}, s.opts("task-protection-policy")...)
	if err != nil {
		return nil, err
	}
	return &Roles{
		ExecutionRoleArn: execution.Arn,
		TaskRoleArn:      task.Arn,
		TaskRoleID:       task.ID().ToStringOutput(),
		Policies:         []pulumi.Resource{executionPolicy, taskPolicy, protectionPolicy},
	}, nil
}

// executionPolicyInputs are what the execution role's policy names, resolved into
// executionPolicyValues (see resolveNamed).
type executionPolicyInputs struct {
	LogGroupArn        pulumi.StringInput
	SecretArn          pulumi.StringInput
	PullRepositoryArns pulumi.StringArrayInput
}

type executionPolicyValues struct {
	LogGroupArn        string
	SecretArn          string
	PullRepositoryArns []string
}

func (executionPolicyInputs) ElementType() reflect.Type {
	return reflect.TypeFor[executionPolicyValues]()
}

// taskProtectionInputs are what the task-protection policy names, resolved into
// taskProtectionValues (see resolveNamed).
type taskProtectionInputs struct {
	AccountID   pulumi.StringInput
	ClusterName pulumi.StringInput
}

type taskProtectionValues struct {
	AccountID   string
	ClusterName string
}

func (taskProtectionInputs) ElementType() reflect.Type {
	return reflect.TypeFor[taskProtectionValues]()
}
