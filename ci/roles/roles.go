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
	repository, imageBucket, stateBucket, secretsKey, region string
	createProvider                                           bool
}

func loadRolesConfig(ctx *pulumi.Context) (rolesConfig, error) {
	get := func(key string) string {
		v, _ := ctx.GetConfig(ctx.Project() + ":" + key)
		return strings.TrimSpace(v)
	}
	var problems []string
	cfg := rolesConfig{
		repository:     get("repository"),
		imageBucket:    get("imageBucketName"),
		stateBucket:    get("stateBucketName"),
		secretsKey:     get("secretsKeyArn"),
		createProvider: get("createOidcProvider") != "false",
	}
	cfg.region, _ = ctx.GetConfig("aws:region")
	if cfg.region == "" {
		problems = append(problems, "aws:region: is required (the region of the application stack, which the roles are limited to); set it with: pulumi config set aws:region us-east-1")
	}
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
	if err := attachPolicies(ctx, "deploy", deploy, deployStatements(cfg, account.AccountId, stack)); err != nil {
		return nil, err
	}

	preview, err := iam.NewRole(ctx, "preview", &iam.RoleArgs{
		Description:      pulumi.Sprintf("pulumi preview and drift refresh of synapse-docker-registry %s from GitHub Actions: reads configuration, no image data, no secret values", stack),
		AssumeRolePolicy: providerArn.ApplyT(func(arn string) string { return trust(arn, previewSubject(cfg.repository, stack)) }).(pulumi.StringOutput),
	})
	if err != nil {
		return nil, err
	}
	if err := attachPolicies(ctx, "preview", preview, previewStatements(cfg, account.AccountId, stack)); err != nil {
		return nil, err
	}
	ctx.Export("deployRoleArn", deploy.Arn)
	ctx.Export("previewRoleArn", preview.Arn)
	return &Roles{Deploy: deploy, Preview: preview}, nil
}

// IAM quotas (IAM User Guide, "IAM and AWS STS quotas"): a managed policy holds at most 6,144
// characters, whitespace not counted, and a role has at most 10 managed policies attached by
// default. (Inline policies share 10,240 characters per role, too few for the deploy role.)
const (
	managedPolicyMaxChars  = 6144
	managedPoliciesPerRole = 10
)

// attachPolicies splits the statements into as few managed policies as fit and attaches them.
func attachPolicies(ctx *pulumi.Context, name string, role *iam.Role, statements []statement) error {
	chunks, err := splitIntoPolicies(statements)
	if err != nil {
		return fmt.Errorf("the %s role: %w", name, err)
	}
	for i, chunk := range chunks {
		policyName := fmt.Sprintf("%s-%d", name, i+1)
		p, err := iam.NewPolicy(ctx, policyName, &iam.PolicyArgs{
			Description: pulumi.Sprintf("synapse-docker-registry %s role, part %d of %d (ci/roles)", name, i+1, len(chunks)),
			Policy:      pulumi.String(document(chunk...)),
		})
		if err != nil {
			return err
		}
		if _, err := iam.NewRolePolicyAttachment(ctx, policyName, &iam.RolePolicyAttachmentArgs{Role: role.Name, PolicyArn: p.Arn}); err != nil {
			return err
		}
	}
	return nil
}

func splitIntoPolicies(statements []statement) ([][]statement, error) {
	var chunks [][]statement
	var current []statement
	for _, st := range statements {
		if len(document(st)) > managedPolicyMaxChars {
			return nil, fmt.Errorf("statement %s alone exceeds a managed policy's %d characters", st.Sid, managedPolicyMaxChars)
		}
		if len(current) > 0 && len(document(append(current, st)...)) > managedPolicyMaxChars {
			chunks = append(chunks, current)
			current = nil
		}
		current = append(current, st)
	}
	if len(current) > 0 {
		chunks = append(chunks, current)
	}
	if len(chunks) > managedPoliciesPerRole {
		return nil, fmt.Errorf("needs %d managed policies, more than the %d a role may have", len(chunks), managedPoliciesPerRole)
	}
	return chunks, nil
}
