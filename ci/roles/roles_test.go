package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synth"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const project = "synapse-docker-registry-ci-roles"

func synthRoles(t *testing.T, stack string, extra map[string]string) *synth.Result {
	t.Helper()
	cfg := map[string]string{
		project + ":repository":      "Sage-Bionetworks/synapse-docker-registry",
		project + ":imageBucketName": stack + ".docker.registry.sagebase.org",
		project + ":stateBucketName": "synapse-pulumi-state",
		project + ":secretsKeyArn":   "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555",
		"aws:region":                 "us-east-1",
	}
	for k, v := range extra {
		cfg[project+":"+k] = v
	}
	res, err := synth.Run(func(ctx *pulumi.Context) error { _, err := declareRoles(ctx); return err },
		&synth.StackConfig{Project: project, Stack: stack, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

type policyStatement struct {
	Sid       string
	Effect    string
	Action    any
	Resource  any
	Condition map[string]map[string]any
}

func list(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, e.(string))
		}
		return out
	}
	return nil
}

// roleStatements: every statement of every policy attached to the role (the program attaches
// managed policies named <role>-<n>).
func roleStatements(t *testing.T, res *synth.Result, role string) []policyStatement {
	t.Helper()
	var out []policyStatement
	for _, att := range res.ByType("aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
		if att.InputString("role") != role {
			continue
		}
		p, ok := res.Get("aws:iam/policy:Policy", att.Name)
		if !ok {
			t.Fatalf("%s: attachment %s attaches %s, not one of the program's policies", role, att.Name, att.InputString("policyArn"))
		}
		var doc struct{ Statement []policyStatement }
		if err := json.Unmarshal([]byte(p.InputString("policy")), &doc); err != nil {
			t.Fatal(err)
		}
		out = append(out, doc.Statement...)
	}
	if len(out) == 0 {
		t.Fatalf("no policy attached to the %s role", role)
	}
	return out
}

// globMatch: IAM's matching of actions (case-insensitive) and resources, * and ? wildcards.
func globMatch(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if globMatch(pattern[1:], s[i:], false) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && globMatch(pattern[1:], s[1:], false)
	}
	return s != "" && pattern[0] == s[0] && globMatch(pattern[1:], s[1:], false)
}

// conditionsHold: every condition of the statement holds in the request context (StringEquals
// only, the one operator the roles use; a key missing from the context does not match, as in
// IAM's policy evaluation).
func conditionsHold(s policyStatement, context map[string]string) bool {
	for op, keys := range s.Condition {
		if op != "StringEquals" {
			return false
		}
		for key, want := range keys {
			got, ok := context[key]
			if !ok {
				return false
			}
			match := false
			for _, w := range list(want) {
				match = match || w == got
			}
			if !match {
				return false
			}
		}
	}
	return true
}

func matches(s policyStatement, action, resource string, context map[string]string) bool {
	actionOK, resourceOK := false, false
	for _, a := range list(s.Action) {
		actionOK = actionOK || globMatch(a, action, true)
	}
	for _, r := range list(s.Resource) {
		resourceOK = resourceOK || globMatch(r, resource, false)
	}
	return actionOK && resourceOK && conditionsHold(s, context)
}

// allowed: IAM's evaluation within one account's identity policies (IAM User Guide, "Policy
// evaluation logic"): an explicit deny wins, else an allow is needed.
func allowed(sts []policyStatement, action, resource string, context map[string]string) bool {
	allow := false
	for _, s := range sts {
		if !matches(s, action, resource, context) {
			continue
		}
		if s.Effect == "Deny" {
			return false
		}
		allow = true
	}
	return allow
}

// allowEverything stands for any allow the role might get later (an attached AWS managed policy
// such as ReadOnlyAccess, which reads every bucket's objects): only explicit denies keep the role
// from image data and secret values then.
var allowEverything = policyStatement{Effect: "Allow", Action: "*", Resource: "*"}

// The preview roles can read configuration (the table's reads, the state, decrypt) but not
// image data or secret values: explicit denies, which hold even if the role is later given an
// allow on everything; and no AWS managed policy (ReadOnlyAccess reads every bucket's objects).
func TestPreviewRolesCannotReadImagesOrSecrets(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			res := synthRoles(t, stack, nil)
			sts := roleStatements(t, res, "preview")
			withAll := append(append([]policyStatement{}, sts...), allowEverything)
			bucket := stack + ".docker.registry.sagebase.org"
			blob := "arn:aws:s3:::" + bucket + "/docker/registry/v2/blobs/sha256/ab/abc/data"
			region := map[string]string{"aws:RequestedRegion": "us-east-1"}
			for _, c := range []struct{ action, resource string }{
				{"s3:GetObject", blob}, {"s3:GetObjectVersion", blob}, {"s3:GetObjectAttributes", blob}, {"s3:RestoreObject", blob},
				{"secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:123456789012:secret:registry-abc1234-AbCdEf"},
				{"secretsmanager:BatchGetSecretValue", "*"},
			} {
				if allowed(withAll, c.action, c.resource, region) {
					t.Errorf("%s on %s is not explicitly denied to the preview role", c.action, c.resource)
				}
				if allowed(sts, c.action, c.resource, region) {
					t.Errorf("the preview role may %s on %s", c.action, c.resource)
				}
			}
			state := "arn:aws:s3:::synapse-pulumi-state/.pulumi/stacks/synapse-docker-registry/" + stack + ".json"
			if !allowed(sts, "s3:GetObject", state, region) || !allowed(sts, "s3:ListBucket", "arn:aws:s3:::synapse-pulumi-state", region) {
				t.Error("the preview role may not read the state")
			}
			if allowed(sts, "s3:PutObject", state, region) {
				t.Error("the preview role may write the state")
			}
			key := "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
			if !allowed(sts, "kms:Decrypt", key, region) || allowed(sts, "kms:Encrypt", key, region) {
				t.Error("the preview role must decrypt with the secrets key, and only decrypt")
			}
			for _, att := range res.ByType("aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
				if strings.HasPrefix(att.InputString("policyArn"), "arn:aws:iam::aws:policy/") {
					t.Errorf("%s attaches the AWS managed policy %s", att.Name, att.InputString("policyArn"))
				}
			}
		})
	}
}

func trustSubject(t *testing.T, res *synth.Result, role string) string {
	t.Helper()
	r, _ := res.Get("aws:iam/role:Role", role)
	var doc struct {
		Statement []struct {
			Condition map[string]map[string]string
		}
	}
	if err := json.Unmarshal([]byte(r.InputString("assumeRolePolicy")), &doc); err != nil {
		t.Fatal(err)
	}
	c := doc.Statement[0].Condition["StringEquals"]
	if c["token.actions.githubusercontent.com:aud"] != "sts.amazonaws.com" {
		t.Errorf("%s trusts audience %q", role, c["token.actions.githubusercontent.com:aud"])
	}
	return c["token.actions.githubusercontent.com:sub"]
}

// Prod's preview role is assumable only from the preview-prod environment (pull requests into
// prod); deploy roles only from the stack's environment.
func TestRoleTrust(t *testing.T) {
	for stack, wantPreview := range map[string]string{
		"dev":  "repo:Sage-Bionetworks/synapse-docker-registry:environment:preview-dev",
		"prod": "repo:Sage-Bionetworks/synapse-docker-registry:environment:preview-prod",
	} {
		res := synthRoles(t, stack, nil)
		if got := trustSubject(t, res, "preview"); got != wantPreview {
			t.Errorf("%s preview role trusts %q, want %q", stack, got, wantPreview)
		}
		if got, want := trustSubject(t, res, "deploy"), "repo:Sage-Bionetworks/synapse-docker-registry:environment:"+stack; got != want {
			t.Errorf("%s deploy role trusts %q, want %q", stack, got, want)
		}
		deploy, _ := res.Get("aws:iam/role:Role", "deploy")
		if v, _ := deploy.Input("maxSessionDuration"); v != float64(21600) {
			t.Errorf("%s deploy role sessions last %v s, the deploy job asks for 21600", stack, v)
		}
	}
}

// The deploy role can deploy a fresh account: it may create the service-linked roles of ECS,
// Elastic Load Balancing and Application Auto Scaling and no other; it passes the task and
// execution roles only to ECS tasks, the flow-logs role only to VPC Flow Logs, and no other role.
func TestDeployRoleCreatesServiceLinkedRolesAndPassesOnlyTheStacksRoles(t *testing.T) {
	sts := roleStatements(t, synthRoles(t, "prod", nil), "deploy")
	slr := "arn:aws:iam::123456789012:role/aws-service-role/"
	for _, service := range []string{"ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com", "ecs.application-autoscaling.amazonaws.com"} {
		if !allowed(sts, "iam:CreateServiceLinkedRole", slr+service+"/x", map[string]string{"iam:AWSServiceName": service}) {
			t.Errorf("the deploy role cannot create the service-linked role of %s", service)
		}
	}
	if allowed(sts, "iam:CreateServiceLinkedRole", slr+"x", map[string]string{"iam:AWSServiceName": "rds.amazonaws.com"}) ||
		allowed(sts, "iam:CreateServiceLinkedRole", slr+"x", map[string]string{}) {
		t.Error("the deploy role may create service-linked roles of other services")
	}
	role := func(name string) string { return "arn:aws:iam::123456789012:role/" + name + "-1a2b3c4" }
	for _, c := range []struct {
		role, service string
		want          bool
	}{
		{"execution", "ecs-tasks.amazonaws.com", true}, {"task", "ecs-tasks.amazonaws.com", true},
		{"flow-logs", "vpc-flow-logs.amazonaws.com", true},
		{"execution", "lambda.amazonaws.com", false}, {"flow-logs", "ecs-tasks.amazonaws.com", false},
		{"task", "vpc-flow-logs.amazonaws.com", false}, {"deploy", "ecs-tasks.amazonaws.com", false},
		{"admin", "ecs-tasks.amazonaws.com", false},
	} {
		if got := allowed(sts, "iam:PassRole", role(c.role), map[string]string{"iam:PassedToService": c.service}); got != c.want {
			t.Errorf("iam:PassRole of %s to %s: allowed %v, want %v", c.role, c.service, got, c.want)
		}
	}
	if allowed(sts, "iam:PassRole", role("task"), map[string]string{}) {
		t.Error("iam:PassRole is allowed without iam:PassedToService")
	}
	region := map[string]string{"aws:RequestedRegion": "us-east-1"}
	// Target tracking creates and deletes its alarms with the caller's permissions.
	alarm := "arn:aws:cloudwatch:us-east-1:123456789012:alarm:TargetTracking-service/registry-1a2b3c4/registry-5d6e7f8-AlarmHigh-0f1e2d3c"
	for _, a := range []string{"cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"} {
		if !allowed(sts, a, alarm, region) {
			t.Errorf("the deploy role may not %s on target tracking's alarm %s", a, alarm)
		}
	}
	// The state (read and write), the secrets key (decrypt, and nothing the alarms key's
	// management would allow on it), and none of the image bucket's objects.
	for _, a := range []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"} {
		if !allowed(sts, a, "arn:aws:s3:::synapse-pulumi-state/.pulumi/stacks/x.json", region) {
			t.Errorf("the deploy role may not %s the state", a)
		}
	}
	key := "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
	if !allowed(sts, "kms:Decrypt", key, region) {
		t.Error("the deploy role cannot decrypt with the secrets key")
	}
	for _, a := range []string{"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:TagResource"} {
		if !allowed(sts, a, "arn:aws:kms:us-east-1:123456789012:key/99999999-8888-7777-6666-555555555555", region) {
			t.Errorf("the deploy role may not %s the alarms key", a)
		}
		if allowed(sts, a, key, region) {
			t.Errorf("the deploy role may %s the secrets provider's key", a)
		}
	}
	if allowed(sts, "s3:GetObject", "arn:aws:s3:::prod.docker.registry.sagebase.org/docker/registry/v2/blobs/x/data", region) {
		t.Error("the deploy role may read image data")
	}
	// Regional services only in the stack's region.
	if allowed(sts, "ec2:CreateVpc", "*", map[string]string{"aws:RequestedRegion": "eu-west-1"}) {
		t.Error("the deploy role may create a VPC in another region")
	}
}

// Each role's policies fit IAM's quotas (IAM User Guide, "IAM and AWS STS quotas"): 6,144
// characters per managed policy, whitespace not counted; 10 managed policies per role.
func TestPoliciesFitIAMQuotas(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		res := synthRoles(t, stack, nil)
		count := map[string]int{}
		for _, att := range res.ByType("aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
			count[att.InputString("role")]++
			p, _ := res.Get("aws:iam/policy:Policy", att.Name)
			doc := strings.Join(strings.Fields(p.InputString("policy")), "")
			if len(doc) > 6144 {
				t.Errorf("%s %s: %d characters, more than a managed policy's 6,144", stack, att.Name, len(doc))
			}
		}
		for role, n := range count {
			if n > 10 {
				t.Errorf("%s %s role: %d managed policies, more than 10", stack, role, n)
			}
		}
	}
}

func TestConfigProblemsAreAllReported(t *testing.T) {
	_, err := synth.Run(func(ctx *pulumi.Context) error { _, err := declareRoles(ctx); return err },
		&synth.StackConfig{Project: project, Stack: "prod", Config: map[string]string{project + ":repository": "x"}})
	if err == nil {
		t.Fatal("accepted an empty configuration")
	}
	for _, want := range []string{"repository", "imageBucketName", "secretsKeyArn", "aws:region"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not name %s: %v", want, err)
		}
	}
}
