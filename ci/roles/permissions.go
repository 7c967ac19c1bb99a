package main

// What `pulumi up` of the registry stack (infra/) needs from AWS, per Pulumi resource type it
// declares and per data source it reads. The deploy role is built from Manage and Read, the
// preview role from Read only; roles_test.go synthesizes both stacks and fails when the stack
// declares a type or calls a data source this table lacks, and when a role grants an action the
// table does not list.
//
// Action names are those of AWS's Service Authorization Reference ("Actions, resources, and
// condition keys for <service>"); which API calls each resource makes are those of the bridged
// Terraform provider's create, read, update and delete (terraform-provider-aws
// internal/service/<service>/<resource>.go, the version pulumi-aws v6 in go.mod bridges).
// Resources: the ARNs the stack's names give (physical names are Pulumi auto-names,
// <logical name>-<7 hex>, unless infra/ sets a name); "*" where the action supports no
// resource-level permission (the reference's "Resource types" column is empty), and then only
// in the stack's region (aws:RequestedRegion) where the service is regional.

// perm is a set of actions on a set of resources.
type perm struct {
	// Manage: create, update, delete, tag. Read: what a refresh, a preview or an update's read
	// after a write calls.
	Manage, Read []string
	// On: ARN templates ({region}, {account}, {stack}, {project}, {imageBucket}); empty is "*".
	On []string
}

// appProject is the registry stack's Pulumi project (Pulumi.yaml at the repository's root); its
// log groups, dashboard and task family are named after it.
const appProject = "synapse-docker-registry"

const (
	ec2Any     = "" // EC2 create/describe actions: "*" in the region
	elbPrefix  = "arn:aws:elasticloadbalancing:{region}:{account}:"
	logsPrefix = "arn:aws:logs:{region}:{account}:log-group:"
)

var ec2Tags = []string{"ec2:CreateTags", "ec2:DeleteTags"}

func with(base []string, more ...string) []string {
	return append(append([]string{}, base...), more...)
}

var elbTags = []string{"elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"}

// resourceTypePermissions: every Pulumi resource type infra/ declares. An empty list: the type
// makes no AWS call (random, the component, the provider itself: sts:GetCallerIdentity needs no
// permission, IAM User Guide "GetCallerIdentity").
var resourceTypePermissions = map[string][]perm{
	"synapse:registry:DockerRegistry":      nil,
	"pulumi:providers:aws":                 nil,
	"random:index/randomBytes:RandomBytes": nil,
	"random:index/randomId:RandomId":       nil,

	// Network (EC2): no resource-level permission worth having for create and describe.
	"aws:ec2/vpc:Vpc": {{
		Manage: with(ec2Tags, "ec2:CreateVpc", "ec2:DeleteVpc", "ec2:ModifyVpcAttribute"),
		// The read also looks up the VPC's main route table, default network ACL and default
		// security group (resource_aws_vpc: FindVPCMainRouteTable, ...DefaultNetworkACL, ...).
		Read: []string{"ec2:DescribeVpcs", "ec2:DescribeVpcAttribute", "ec2:DescribeRouteTables", "ec2:DescribeNetworkAcls", "ec2:DescribeSecurityGroups"},
	}},
	"aws:ec2/subnet:Subnet": {{
		Manage: with(ec2Tags, "ec2:CreateSubnet", "ec2:DeleteSubnet", "ec2:ModifySubnetAttribute"),
		Read:   []string{"ec2:DescribeSubnets", "ec2:DescribeNetworkInterfaces"},
	}},
	"aws:ec2/internetGateway:InternetGateway": {{
		Manage: with(ec2Tags, "ec2:CreateInternetGateway", "ec2:DeleteInternetGateway", "ec2:AttachInternetGateway", "ec2:DetachInternetGateway"),
		Read:   []string{"ec2:DescribeInternetGateways"},
	}},
	"aws:ec2/eip:Eip": {{
		Manage: with(ec2Tags, "ec2:AllocateAddress", "ec2:ReleaseAddress"),
		Read:   []string{"ec2:DescribeAddresses", "ec2:DescribeAddressesAttribute"},
	}},
	"aws:ec2/natGateway:NatGateway": {{
		Manage: with(ec2Tags, "ec2:CreateNatGateway", "ec2:DeleteNatGateway"),
		Read:   []string{"ec2:DescribeNatGateways"},
	}},
	"aws:ec2/routeTable:RouteTable": {{
		Manage: with(ec2Tags, "ec2:CreateRouteTable", "ec2:DeleteRouteTable"),
		Read:   []string{"ec2:DescribeRouteTables"},
	}},
	"aws:ec2/route:Route": {{
		Manage: []string{"ec2:CreateRoute", "ec2:ReplaceRoute", "ec2:DeleteRoute"},
		Read:   []string{"ec2:DescribeRouteTables"},
	}},
	"aws:ec2/routeTableAssociation:RouteTableAssociation": {{
		Manage: []string{"ec2:AssociateRouteTable", "ec2:ReplaceRouteTableAssociation", "ec2:DisassociateRouteTable"},
		Read:   []string{"ec2:DescribeRouteTables"},
	}},
	"aws:ec2/securityGroup:SecurityGroup": {{
		// Create revokes the default allow-all egress rule (resource_aws_security_group).
		Manage: with(ec2Tags, "ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup", "ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress"),
		Read:   []string{"ec2:DescribeSecurityGroups", "ec2:DescribeNetworkInterfaces"},
	}},
	"aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": {{
		// Adopting the default group removes every rule it has.
		Manage: with(ec2Tags, "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress"),
		Read:   []string{"ec2:DescribeSecurityGroups"},
	}},
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {{
		Manage: with(ec2Tags, "ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:ModifySecurityGroupRules"),
		Read:   []string{"ec2:DescribeSecurityGroupRules"},
	}},
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": {{
		Manage: with(ec2Tags, "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupEgress", "ec2:ModifySecurityGroupRules"),
		Read:   []string{"ec2:DescribeSecurityGroupRules"},
	}},
	"aws:ec2/vpcEndpoint:VpcEndpoint": {{
		Manage: with(ec2Tags, "ec2:CreateVpcEndpoint", "ec2:ModifyVpcEndpoint", "ec2:DeleteVpcEndpoints"),
		// The read resolves the gateway endpoint's prefix list.
		Read: []string{"ec2:DescribeVpcEndpoints", "ec2:DescribePrefixLists"},
	}},
	"aws:ec2/flowLog:FlowLog": {{
		// Also iam:PassRole of the flow-logs role to vpc-flow-logs.amazonaws.com (passRoles).
		Manage: with(ec2Tags, "ec2:CreateFlowLogs", "ec2:DeleteFlowLogs"),
		Read:   []string{"ec2:DescribeFlowLogs"},
	}},

	// Elastic Load Balancing: writes on the stack's ARNs, describes on "*" (no resource-level).
	"aws:lb/loadBalancer:LoadBalancer": {
		{Manage: with(elbTags, "elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:DeleteLoadBalancer",
			"elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets"),
			On: []string{elbPrefix + "loadbalancer/app/registry-*/*"}},
		// Delete waits for the load balancer's network interfaces to go.
		{Read: []string{"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
			"elasticloadbalancing:DescribeTags", "elasticloadbalancing:DescribeCapacityReservation", "ec2:DescribeNetworkInterfaces"}},
	},
	"aws:lb/targetGroup:TargetGroup": {
		{Manage: with(elbTags, "elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:DeleteTargetGroup",
			"elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes"),
			On: []string{elbPrefix + "targetgroup/registry-*/*"}},
		{Read: []string{"elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:DescribeTags"}},
	},
	"aws:lb/listener:Listener": {
		{Manage: with(elbTags, "elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
			"elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyListenerAttributes"),
			On: []string{elbPrefix + "loadbalancer/app/registry-*/*", elbPrefix + "listener/app/registry-*/*/*"}},
		{Read: []string{"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerAttributes", "elasticloadbalancing:DescribeTags"}},
	},
	"aws:lb/listenerRule:ListenerRule": {
		{Manage: with(elbTags, "elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule", "elasticloadbalancing:ModifyRule", "elasticloadbalancing:SetRulePriorities"),
			On: []string{elbPrefix + "listener/app/registry-*/*/*", elbPrefix + "listener-rule/app/registry-*/*/*/*"}},
		{Read: []string{"elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTags"}},
	},

	// ACM: RequestCertificate has no resource-level permission.
	"aws:acm/certificate:Certificate": {
		{Manage: []string{"acm:RequestCertificate", "acm:AddTagsToCertificate"}},
		{Manage: []string{"acm:DeleteCertificate", "acm:RemoveTagsFromCertificate"},
			Read: []string{"acm:DescribeCertificate", "acm:ListTagsForCertificate"},
			On:   []string{"arn:aws:acm:{region}:{account}:certificate/*"}},
	},
	"aws:acm/certificateValidation:CertificateValidation": {{
		Read: []string{"acm:DescribeCertificate"}, On: []string{"arn:aws:acm:{region}:{account}:certificate/*"},
	}},
	"aws:route53/record:Record": {
		{Manage: []string{"route53:ChangeResourceRecordSets"}, Read: []string{"route53:ListResourceRecordSets", "route53:GetHostedZone"},
			On: []string{"arn:aws:route53:::hostedzone/*"}},
		{Read: []string{"route53:GetChange"}, On: []string{"arn:aws:route53:::change/*"}},
	},

	// ECS.
	"aws:ecs/cluster:Cluster": {{
		Manage: []string{"ecs:CreateCluster", "ecs:DeleteCluster", "ecs:UpdateCluster", "ecs:TagResource", "ecs:UntagResource"},
		Read:   []string{"ecs:DescribeClusters", "ecs:ListTagsForResource"},
		On:     []string{"arn:aws:ecs:{region}:{account}:cluster/registry-*"},
	}},
	"aws:ecs/service:Service": {{
		// Also iam:CreateServiceLinkedRole for ECS (serviceLinkedRoles).
		Manage: []string{"ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService", "ecs:TagResource", "ecs:UntagResource"},
		Read:   []string{"ecs:DescribeServices", "ecs:ListTagsForResource"},
		On:     []string{"arn:aws:ecs:{region}:{account}:service/registry-*/registry-*"},
	}},
	"aws:ecs/taskDefinition:TaskDefinition": {
		// Register and Describe have no resource-level permission. Also iam:PassRole of the task
		// and execution roles to ecs-tasks.amazonaws.com (passRoles).
		{Manage: []string{"ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition"}, Read: []string{"ecs:DescribeTaskDefinition"}},
		{Manage: []string{"ecs:TagResource", "ecs:UntagResource"}, Read: []string{"ecs:ListTagsForResource"},
			On: []string{"arn:aws:ecs:{region}:{account}:task-definition/{project}-{stack}:*"}},
	},
	"aws:appautoscaling/target:Target": {
		// RegisterScalableTarget also describes and updates the service and creates Application
		// Auto Scaling's service-linked role (serviceLinkedRoles).
		{Manage: []string{"application-autoscaling:RegisterScalableTarget", "application-autoscaling:DeregisterScalableTarget",
			"application-autoscaling:TagResource", "application-autoscaling:UntagResource"},
			Read: []string{"application-autoscaling:ListTagsForResource"},
			On:   []string{"arn:aws:application-autoscaling:{region}:{account}:scalable-target/*"}},
		{Read: []string{"application-autoscaling:DescribeScalableTargets"}},
	},
	"aws:appautoscaling/policy:Policy": {
		{Manage: []string{"application-autoscaling:PutScalingPolicy", "application-autoscaling:DeleteScalingPolicy"},
			On: []string{"arn:aws:application-autoscaling:{region}:{account}:scalable-target/*"}},
		{Read: []string{"application-autoscaling:DescribeScalingPolicies"}},
		// Target tracking: PutScalingPolicy creates, and DeleteScalingPolicy deletes, the policy's
		// alarms with the caller's permissions (Application Auto Scaling User Guide, "Identity-based
		// policy examples": cloudwatch:DescribeAlarms, PutMetricAlarm, DeleteAlarms). They are
		// named TargetTracking-service/<cluster>/<service>-Alarm...
		{Manage: []string{"cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"}, Read: []string{"cloudwatch:DescribeAlarms"},
			On: []string{"arn:aws:cloudwatch:{region}:{account}:alarm:TargetTracking-service/registry-*"}},
	},

	// ECR and the image.
	"aws:ecr/repository:Repository": {{
		// force_delete (protect: false) deletes the images with the repository.
		Manage: []string{"ecr:CreateRepository", "ecr:DeleteRepository", "ecr:PutImageScanningConfiguration", "ecr:PutImageTagMutability",
			"ecr:TagResource", "ecr:UntagResource", "ecr:BatchDeleteImage"},
		Read: []string{"ecr:DescribeRepositories", "ecr:ListTagsForResource"},
		On:   []string{"arn:aws:ecr:{region}:{account}:repository/registry-*"},
	}},
	"aws:ecr/lifecyclePolicy:LifecyclePolicy": {{
		Manage: []string{"ecr:PutLifecyclePolicy", "ecr:DeleteLifecyclePolicy"},
		Read:   []string{"ecr:GetLifecyclePolicy"},
		On:     []string{"arn:aws:ecr:{region}:{account}:repository/registry-*"},
	}},
	"docker:index/image:Image": {{
		// A push (Amazon ECR User Guide, "IAM permissions for pushing an image"); the token comes
		// from the ecr:GetAuthorizationToken data source.
		// All of it, reads included, only for deploys: no preview or refresh reads an image.
		Manage: []string{"ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage",
			"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage"},
		On: []string{"arn:aws:ecr:{region}:{account}:repository/registry-*"},
	}},

	// Logs, alarms, dashboard.
	"aws:cloudwatch/logGroup:LogGroup": {
		{Manage: []string{"logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy", "logs:TagResource", "logs:UntagResource"},
			Read: []string{"logs:ListTagsForResource"},
			On:   []string{logsPrefix + "/ecs/{project}/{stack}", logsPrefix + "/vpc/{project}/{stack}/flow-logs"}},
		// DescribeLogGroups authorizes on every log group of the account and region.
		{Read: []string{"logs:DescribeLogGroups"}, On: []string{logsPrefix + "*"}},
	},
	"aws:cloudwatch/metricAlarm:MetricAlarm": {{
		Manage: []string{"cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource", "cloudwatch:UntagResource"},
		Read:   []string{"cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"},
		On: []string{"arn:aws:cloudwatch:{region}:{account}:alarm:alb-5xx-rate-*", "arn:aws:cloudwatch:{region}:{account}:alarm:no-healthy-targets-*",
			"arn:aws:cloudwatch:{region}:{account}:alarm:unhealthy-targets-*", "arn:aws:cloudwatch:{region}:{account}:alarm:tasks-restarting-*",
			"arn:aws:cloudwatch:{region}:{account}:alarm:notifications-*", "arn:aws:cloudwatch:{region}:{account}:alarm:notification-relay-restarts-*"},
	}},
	// The relay-restart count (infra/notifications.go): a filter on the registry's log group.
	// PutMetricFilter and DeleteMetricFilter act on the log group; DescribeMetricFilters lists by
	// group name prefix, so it gets the reads' log-group scope.
	"aws:cloudwatch/logMetricFilter:LogMetricFilter": {
		{Manage: []string{"logs:PutMetricFilter", "logs:DeleteMetricFilter"}, On: []string{logsPrefix + "/ecs/{project}/{stack}"}},
		{Read: []string{"logs:DescribeMetricFilters"}, On: []string{logsPrefix + "*"}},
	},
	"aws:cloudwatch/dashboard:Dashboard": {{
		Manage: []string{"cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"},
		Read:   []string{"cloudwatch:GetDashboard"},
		On:     []string{"arn:aws:cloudwatch::{account}:dashboard/{project}-{stack}"},
	}},

	// Alarm notifications.
	"aws:kms/key:Key": {
		// CreateKey has no resource-level permission; the key's id is AWS's. The secrets
		// provider's key is excluded by an explicit deny (secretsKeyStatements).
		{Manage: []string{"kms:CreateKey"}},
		{Manage: []string{"kms:PutKeyPolicy", "kms:EnableKeyRotation", "kms:UpdateKeyDescription", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource"},
			Read: []string{"kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"},
			On:   []string{"arn:aws:kms:{region}:{account}:key/*"}},
	},
	"aws:sns/topic:Topic": {{
		Manage: []string{"sns:CreateTopic", "sns:DeleteTopic", "sns:SetTopicAttributes", "sns:TagResource", "sns:UntagResource"},
		Read:   []string{"sns:GetTopicAttributes", "sns:ListTagsForResource"},
		On:     []string{"arn:aws:sns:{region}:{account}:alarms-*"},
	}},
	"aws:sns/topicSubscription:TopicSubscription": {
		{Manage: []string{"sns:Subscribe"}, On: []string{"arn:aws:sns:{region}:{account}:alarms-*"}},
		// A subscription is no resource type of SNS's: these authorize on "*".
		{Manage: []string{"sns:Unsubscribe", "sns:SetSubscriptionAttributes"}, Read: []string{"sns:GetSubscriptionAttributes"}},
	},

	// Notification queues.
	"aws:sqs/queue:Queue": {{
		Manage: []string{"sqs:CreateQueue", "sqs:DeleteQueue", "sqs:SetQueueAttributes", "sqs:TagQueue", "sqs:UntagQueue"},
		Read:   []string{"sqs:GetQueueAttributes", "sqs:ListQueueTags"},
		On:     []string{"arn:aws:sqs:{region}:{account}:notifications-*"},
	}},
	"aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": {{
		Manage: []string{"sqs:SetQueueAttributes"},
		Read:   []string{"sqs:GetQueueAttributes"},
		On:     []string{"arn:aws:sqs:{region}:{account}:notifications-*"},
	}},

	// Secrets Manager. The deploy role reads back the version it wrote (the provider reads a
	// version with GetSecretValue); the preview role is denied that (previewDenies).
	"aws:secretsmanager/secret:Secret": {{
		Manage: []string{"secretsmanager:CreateSecret", "secretsmanager:DeleteSecret", "secretsmanager:UpdateSecret",
			"secretsmanager:TagResource", "secretsmanager:UntagResource"},
		Read: []string{"secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy"},
		On:   []string{"arn:aws:secretsmanager:{region}:{account}:secret:registry-*"},
	}},
	"aws:secretsmanager/secretVersion:SecretVersion": {{
		Manage: []string{"secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage", "secretsmanager:GetSecretValue"},
		Read:   []string{"secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds"},
		On:     []string{"arn:aws:secretsmanager:{region}:{account}:secret:registry-*"},
	}},

	// IAM: the stack's roles (execution, task, flow-logs) and their inline policies.
	"aws:iam/role:Role": {{
		Manage: []string{"iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole"},
		// The read includes the inline and attached policies; delete lists what is attached first.
		Read: []string{"iam:GetRole", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole"},
		On:   stackRoles,
	}},
	"aws:iam/rolePolicy:RolePolicy": {{
		Manage: []string{"iam:PutRolePolicy", "iam:DeleteRolePolicy"},
		Read:   []string{"iam:GetRolePolicy"},
		On:     stackRoles,
	}},

	// S3: the image bucket (adopted) and the access-log bucket (created, prod). Bucket
	// configuration only: nothing here reads or writes an object.
	"aws:s3/bucketV2:BucketV2": {{
		Manage: []string{"s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucketTagging"},
		// The bridged provider's bucket read fetches every sub-configuration.
		Read: []string{"s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketTagging", "s3:GetBucketAcl", "s3:GetBucketCORS",
			"s3:GetBucketWebsite", "s3:GetBucketVersioning", "s3:GetAccelerateConfiguration", "s3:GetBucketRequestPayment",
			"s3:GetBucketLogging", "s3:GetLifecycleConfiguration", "s3:GetReplicationConfiguration", "s3:GetEncryptionConfiguration",
			"s3:GetBucketObjectLockConfiguration", "s3:GetBucketPolicy"},
		On: stackBuckets,
	}},
	"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2": {{
		// DeleteBucketLifecycle authorizes as s3:PutLifecycleConfiguration.
		Manage: []string{"s3:PutLifecycleConfiguration"}, Read: []string{"s3:GetLifecycleConfiguration"}, On: stackBuckets,
	}},
	"aws:s3/bucketOwnershipControls:BucketOwnershipControls": {{
		Manage: []string{"s3:PutBucketOwnershipControls"}, Read: []string{"s3:GetBucketOwnershipControls"}, On: stackBuckets,
	}},
	"aws:s3/bucketPolicy:BucketPolicy": {{
		Manage: []string{"s3:PutBucketPolicy", "s3:DeleteBucketPolicy"}, Read: []string{"s3:GetBucketPolicy"}, On: stackBuckets,
	}},
	"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": {{
		Manage: []string{"s3:PutBucketPublicAccessBlock"}, Read: []string{"s3:GetBucketPublicAccessBlock"}, On: stackBuckets,
	}},
	"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": {{
		Manage: []string{"s3:PutEncryptionConfiguration"}, Read: []string{"s3:GetEncryptionConfiguration"}, On: stackBuckets,
	}},
	"aws:s3/bucketVersioningV2:BucketVersioningV2": {{
		Manage: []string{"s3:PutBucketVersioning"}, Read: []string{"s3:GetBucketVersioning"}, On: stackBuckets,
	}},
}

// invokePermissions: every data source infra/ calls (in previews too). getBucket: HeadBucket
// (s3:ListBucket) twice and the website configuration (internal/service/s3/bucket_data_source.go);
// getZone by name: every hosted zone, then the one found and its tags (route53/zone_data_source.go).
var invokePermissions = map[string][]perm{
	"aws:index/getCallerIdentity:getCallerIdentity":       nil, // needs no permission
	"aws:elb/getServiceAccount:getServiceAccount":         nil, // a table in the provider
	"aws:index/getAvailabilityZones:getAvailabilityZones": {{Read: []string{"ec2:DescribeAvailabilityZones"}}},
	"aws:route53/getZone:getZone": {
		{Read: []string{"route53:ListHostedZones"}},
		{Read: []string{"route53:GetHostedZone", "route53:ListTagsForResource"}, On: []string{"arn:aws:route53:::hostedzone/*"}},
	},
	"aws:s3/getBucket:getBucket":                          {{Read: []string{"s3:ListBucket", "s3:GetBucketWebsite"}, On: stackBuckets}},
	"aws:ecr/getAuthorizationToken:getAuthorizationToken": {{Read: []string{"ecr:GetAuthorizationToken"}}},
}

// workflowPermissions: what the deploy workflow calls besides pulumi: cmd/verifydeploy compares
// the service's deployments and running tasks with the declared task definition.
var workflowPermissions = []perm{
	{Read: []string{"ecs:DescribeServices"}, On: []string{"arn:aws:ecs:{region}:{account}:service/registry-*/registry-*"}},
	{Read: []string{"ecs:DescribeTasks"}, On: []string{"arn:aws:ecs:{region}:{account}:task/registry-*/*"}},
	// ListTasks authorizes on container instances, which Fargate has none of; "*" in the region.
	{Read: []string{"ecs:ListTasks"}},
}

var (
	stackRoles   = []string{"arn:aws:iam::{account}:role/execution-*", "arn:aws:iam::{account}:role/task-*", "arn:aws:iam::{account}:role/flow-logs-*"}
	stackBuckets = []string{"arn:aws:s3:::{imageBucket}", "arn:aws:s3:::alb-access-logs-*"}
)

// passRoles: which of the stack's roles may be handed to which service (iam:PassRole, with
// iam:PassedToService): the task and execution roles to ECS tasks (the task definition), the
// flow-logs role to VPC Flow Logs (the flow log; Amazon VPC User Guide, "IAM role for publishing
// flow logs to CloudWatch Logs").
var passRoles = []struct {
	Roles   []string
	Service string
}{
	{[]string{"arn:aws:iam::{account}:role/execution-*", "arn:aws:iam::{account}:role/task-*"}, "ecs-tasks.amazonaws.com"},
	{[]string{"arn:aws:iam::{account}:role/flow-logs-*"}, "vpc-flow-logs.amazonaws.com"},
}
