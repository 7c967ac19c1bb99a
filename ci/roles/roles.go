package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// githubIssuer is GitHub Actions' OIDC issuer; audience as aws-actions/configure-aws-credentials
// requests it.
const (
	githubIssuer   = "token.actions.githubusercontent.com"
	githubAudience = "sts.amazonaws.com"
	// deploySessionSeconds: a deployment can wait up to 5 h 19 min for the old tasks (protected
	// while uploads are in flight, then drained: infra/service.go); the deploy workflow asks for
	// six hours, its job's length.
	deploySessionSeconds = 21600
)

// serviceLinkedRoles are the service-linked roles a fresh account lacks until the first service
// of each kind is created by the deploy role: ECS, Elastic Load Balancing, and Application Auto
// Scaling for ECS services (whose target tracking also creates the CloudWatch alarms).
var serviceLinkedRoles = []string{"ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com", "ecs.application-autoscaling.amazonaws.com"}

type statement struct {
	Sid       string                    `json:"Sid,omitempty"`
	Effect    string                    `json:"Effect"`
	Principal map[string]any            `json:"Principal,omitempty"`
	Action    []string                  `json:"Action"`
	Resource  []string                  `json:"Resource,omitempty"`
	Condition map[string]map[string]any `json:"Condition,omitempty"`
}

func document(statements ...statement) string {
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": statements})
	return string(b)
}

type rolesConfig struct {
	repository, imageBucket, stateBucket, secretsKey string
	createProvider                                   bool
}

func loadRolesConfig(ctx *pulumi.Context) (rolesConfig, error) {
	get := func(key string) string {
		v, _ := ctx.GetConfig(ctx.Project() + ":" + key)
		return strings.TrimSpace(v)
	}
	cfg := rolesConfig{
		repository:     get("repository"),
		imageBucket:    get("imageBucketName"),
		stateBucket:    get("stateBucketName"),
		secretsKey:     get("secretsKeyArn"),
		createProvider: get("createOidcProvider") != "false",
	}
	var problems []string
	if strings.Count(cfg.repository, "/") != 1 {
		problems = append(problems, fmt.Sprintf("repository: %q is not owner/name; set it with: pulumi config set repository Sage-Bionetworks/synapse-docker-registry", cfg.repository))
	}
	if cfg.imageBucket == "" {
		problems = append(problems, "imageBucketName: is required (the stack's existingBucketName, whose objects previews must not read); set it with: pulumi config set imageBucketName <bucket>")
	}
	if ctx.Stack() != "dev" && ctx.Stack() != "prod" {
		problems = append(problems, fmt.Sprintf("the stack is %q; name it like the application stack it serves: dev or prod", ctx.Stack()))
	}
	if ctx.Stack() == "prod" && cfg.secretsKey == "" {
		problems = append(problems, "secretsKeyArn: is required for prod (its secrets provider is awskms); set it with: pulumi config set secretsKeyArn arn:aws:kms:...")
	}
	if len(problems) > 0 {
		return cfg, fmt.Errorf("%d configuration problem(s); nothing was created:\n  - %s", len(problems), strings.Join(problems, "\n  - "))
	}
	return cfg, nil
}

// Roles are the declared roles.
type Roles struct {
	Deploy, Preview *iam.Role
}

// previewSubject is the OIDC subject that may assume a stack's preview role: only jobs in the
// GitHub environment preview-<stack>, which holds that stack's preview secrets. The pull-request
// workflow enters preview-prod only for pull requests into the prod branch (and preview-dev for
// the others); the drift check enters both.
func previewSubject(repository, stack string) string {
	return "repo:" + repository + ":environment:preview-" + stack
}

func trust(providerArn, subject string) string {
	return document(statement{
		Effect:    "Allow",
		Principal: map[string]any{"Federated": providerArn},
		Action:    []string{"sts:AssumeRoleWithWebIdentity"},
		Condition: map[string]map[string]any{"StringEquals": {
			githubIssuer + ":aud": githubAudience,
			githubIssuer + ":sub": subject,
		}},
	})
}

func declareRoles(ctx *pulumi.Context) (*Roles, error) {
	cfg, err := loadRolesConfig(ctx)
	if err != nil {
		return nil, err
	}
	account, err := aws.GetCallerIdentity(ctx, nil)
	if err != nil {
		return nil, err
	}
	providerArn := pulumi.Sprintf("arn:aws:iam::%s:oidc-provider/%s", account.AccountId, githubIssuer)
	if cfg.createProvider {
		provider, err := iam.NewOpenIdConnectProvider(ctx, "github", &iam.OpenIdConnectProviderArgs{
			Url:           pulumi.String("https://" + githubIssuer),
			ClientIdLists: pulumi.StringArray{pulumi.String(githubAudience)},
		}, pulumi.Protect(true))
		if err != nil {
			return nil, err
		}
		providerArn = provider.Arn
	}
	stack := ctx.Stack()
	deploySub := "repo:" + cfg.repository + ":environment:" + stack

	deploy, err := iam.NewRole(ctx, "deploy", &iam.RoleArgs{
		Description:        pulumi.Sprintf("pulumi up of synapse-docker-registry %s from GitHub Actions (environment %s)", stack, stack),
		AssumeRolePolicy:   providerArn.ApplyT(func(arn string) string { return trust(arn, deploySub) }).(pulumi.StringOutput),
		MaxSessionDuration: pulumi.Int(deploySessionSeconds),
	})
	if err != nil {
		return nil, err
	}
	if _, err := iam.NewRolePolicy(ctx, "deploy", &iam.RolePolicyArgs{
		Role:   deploy.Name,
		Policy: pulumi.String(document(deployStatements(cfg, account.AccountId)...)),
	}); err != nil {
		return nil, err
	}

	preview, err := iam.NewRole(ctx, "preview", &iam.RoleArgs{
		Description:      pulumi.Sprintf("pulumi preview of synapse-docker-registry %s from GitHub Actions: read-only, no image data, no secret values", stack),
		AssumeRolePolicy: providerArn.ApplyT(func(arn string) string { return trust(arn, previewSubject(cfg.repository, stack)) }).(pulumi.StringOutput),
	})
	if err != nil {
		return nil, err
	}
	// ReadOnlyAccess lets a preview describe, list and get configuration; it also grants
	// s3:GetObject on every bucket, which the explicit denies below take back for image data.
	if _, err := iam.NewRolePolicyAttachment(ctx, "preview-read-only", &iam.RolePolicyAttachmentArgs{
		Role:      preview.Name,
		PolicyArn: pulumi.String("arn:aws:iam::aws:policy/ReadOnlyAccess"),
	}); err != nil {
		return nil, err
	}
	if _, err := iam.NewRolePolicy(ctx, "preview", &iam.RolePolicyArgs{
		Role:   preview.Name,
		Policy: pulumi.String(document(previewStatements(cfg)...)),
	}); err != nil {
		return nil, err
	}
	ctx.Export("deployRoleArn", deploy.Arn)
	ctx.Export("previewRoleArn", preview.Arn)
	return &Roles{Deploy: deploy, Preview: preview}, nil
}

// previewStatements: what a preview needs beyond ReadOnlyAccess, and the explicit denies, which
// win over any allow.
func previewStatements(cfg rolesConfig) []statement {
	out := []statement{
		// The program reads the registry login during a preview.
		{Sid: "EcrLogin", Effect: "Allow", Action: []string{"ecr:GetAuthorizationToken"}, Resource: []string{"*"}},
		{Sid: "DenyImageData", Effect: "Deny", Action: []string{"s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes", "s3:GetObjectTorrent", "s3:GetObjectVersionTorrent", "s3:RestoreObject"},
			Resource: []string{"arn:aws:s3:::" + cfg.imageBucket + "/*"}},
		{Sid: "DenySecretValues", Effect: "Deny", Action: []string{"secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue"}, Resource: []string{"*"}},
	}
	if cfg.stateBucket != "" {
		out = append(out, statement{Sid: "StateRead", Effect: "Allow", Action: []string{"s3:GetObject", "s3:ListBucket"},
			Resource: []string{"arn:aws:s3:::" + cfg.stateBucket, "arn:aws:s3:::" + cfg.stateBucket + "/*"}})
	}
	if cfg.secretsKey != "" {
		out = append(out, statement{Sid: "SecretsProviderDecrypt", Effect: "Allow", Action: []string{"kms:Decrypt"}, Resource: []string{cfg.secretsKey}})
	}
	return out
}

// deployStatements: what `pulumi up` of the stack does (infra/ declares it), on a fresh account.
func deployStatements(cfg rolesConfig, accountID string) []statement {
	out := []statement{
		{Sid: "ManageTheStacksServices", Effect: "Allow", Action: []string{
			"ec2:*", "elasticloadbalancing:*", "ecs:*", "ecr:*", "acm:*", "logs:*", "application-autoscaling:*",
			"secretsmanager:*", "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms",
			"cloudwatch:ListTagsForResource", "cloudwatch:TagResource", "cloudwatch:UntagResource",
			"route53:GetHostedZone", "route53:ListHostedZones", "route53:ListHostedZonesByName", "route53:ChangeResourceRecordSets",
			"route53:ListResourceRecordSets", "route53:GetChange", "sts:GetCallerIdentity",
		}, Resource: []string{"*"}},
		// Bucket configuration (the adopted image bucket, the access-log bucket), never objects
		// of the image bucket.
		{Sid: "BucketConfiguration", Effect: "Allow", Action: []string{
			"s3:CreateBucket", "s3:DeleteBucket", "s3:ListBucket", "s3:GetBucket*", "s3:PutBucket*", "s3:DeleteBucket*",
			"s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration", "s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration",
			"s3:GetAccelerateConfiguration", "s3:GetReplicationConfiguration", "s3:GetAnalyticsConfiguration", "s3:GetIntelligentTieringConfiguration",
			"s3:GetInventoryConfiguration", "s3:GetMetricsConfiguration",
		}, Resource: []string{"arn:aws:s3:::*"}},
		{Sid: "TaskRoles", Effect: "Allow", Action: []string{
			"iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole", "iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy",
			"iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
			"iam:ListInstanceProfilesForRole",
		}, Resource: []string{fmt.Sprintf("arn:aws:iam::%s:role/*", accountID)}},
		{Sid: "PassTaskRoles", Effect: "Allow", Action: []string{"iam:PassRole"}, Resource: []string{fmt.Sprintf("arn:aws:iam::%s:role/*", accountID)},
			Condition: map[string]map[string]any{"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
		{Sid: "ServiceLinkedRoles", Effect: "Allow", Action: []string{"iam:CreateServiceLinkedRole"}, Resource: []string{"*"},
			Condition: map[string]map[string]any{"StringEquals": {"iam:AWSServiceName": serviceLinkedRoles}}},
	}
	if cfg.stateBucket != "" {
		out = append(out, statement{Sid: "StateReadWrite", Effect: "Allow", Action: []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"},
			Resource: []string{"arn:aws:s3:::" + cfg.stateBucket, "arn:aws:s3:::" + cfg.stateBucket + "/*"}})
	}
	if cfg.secretsKey != "" {
		out = append(out, statement{Sid: "SecretsProvider", Effect: "Allow", Action: []string{"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"}, Resource: []string{cfg.secretsKey}})
	}
	return out
}
