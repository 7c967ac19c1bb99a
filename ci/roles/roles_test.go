package main

import (
	"encoding/json"
	"slices"
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

func statements(t *testing.T, res *synth.Result, name string) []policyStatement {
	t.Helper()
	p, ok := res.Get("aws:iam/rolePolicy:RolePolicy", name)
	if !ok {
		t.Fatalf("no role policy %s", name)
	}
	var doc struct{ Statement []policyStatement }
	if err := json.Unmarshal([]byte(p.InputString("policy")), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Statement
}

// actionMatches: IAM's action match, with * wildcards.
func actionMatches(pattern, action string) bool {
	if !strings.Contains(pattern, "*") {
		return strings.EqualFold(pattern, action)
	}
	prefix, suffix, _ := strings.Cut(strings.ToLower(pattern), "*")
	a := strings.ToLower(action)
	return strings.HasPrefix(a, prefix) && strings.HasSuffix(a, suffix)
}

// denied: an explicit deny in the role's own policy covers the action on the resource (it wins
// over ReadOnlyAccess's allow).
func denied(sts []policyStatement, action, resource string) bool {
	for _, s := range sts {
		if s.Effect != "Deny" || s.Condition != nil {
			continue
		}
		for _, a := range list(s.Action) {
			for _, r := range list(s.Resource) {
				if actionMatches(a, action) && (r == "*" || r == resource || strings.HasSuffix(r, "/*") && strings.HasPrefix(resource, strings.TrimSuffix(r, "*"))) {
					return true
				}
			}
		}
	}
	return false
}

// The preview roles can read configuration (ReadOnlyAccess, the state, decrypt) but not image data
// or secret values: explicit denies, which no allow overrides.
func TestPreviewRolesCannotReadImagesOrSecrets(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			res := synthRoles(t, stack, nil)
			sts := statements(t, res, "preview")
			bucket := stack + ".docker.registry.sagebase.org"
			for _, c := range []struct{ action, resource string }{
				{"s3:GetObject", "arn:aws:s3:::" + bucket + "/docker/registry/v2/blobs/sha256/ab/abc/data"},
				{"s3:GetObjectVersion", "arn:aws:s3:::" + bucket + "/docker/registry/v2/blobs/sha256/ab/abc/data"},
				{"secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:123456789012:secret:registry-abc"},
			} {
				if !denied(sts, c.action, c.resource) {
					t.Errorf("%s on %s is not explicitly denied to the preview role", c.action, c.resource)
				}
			}
			if denied(sts, "s3:GetObject", "arn:aws:s3:::synapse-pulumi-state/.pulumi/stacks/x.json") {
				t.Error("the preview role may not read the state")
			}
			att, ok := res.Get("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "preview-read-only")
			if !ok || att.InputString("policyArn") != "arn:aws:iam::aws:policy/ReadOnlyAccess" {
				t.Error("the preview role lacks ReadOnlyAccess")
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
// Elastic Load Balancing and Application Auto Scaling, and pass roles only to ECS tasks.
func TestDeployRoleCreatesServiceLinkedRoles(t *testing.T) {
	sts := statements(t, synthRoles(t, "prod", nil), "deploy")
	var services []string
	passOnlyToTasks := false
	for _, s := range sts {
		if slices.Contains(list(s.Action), "iam:CreateServiceLinkedRole") && s.Effect == "Allow" {
			services = list(s.Condition["StringEquals"]["iam:AWSServiceName"])
		}
		if slices.Contains(list(s.Action), "iam:PassRole") {
			passOnlyToTasks = s.Condition["StringEquals"]["iam:PassedToService"] == "ecs-tasks.amazonaws.com"
		}
	}
	for _, want := range []string{"ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com", "ecs.application-autoscaling.amazonaws.com"} {
		if !slices.Contains(services, want) {
			t.Errorf("the deploy role cannot create the service-linked role of %s (has %v)", want, services)
		}
	}
	if !passOnlyToTasks {
		t.Error("iam:PassRole is not limited to ecs-tasks.amazonaws.com")
	}
	for _, s := range sts {
		for _, a := range list(s.Action) {
			if s.Effect == "Allow" && (a == "*" || a == "iam:*" || a == "s3:*") {
				t.Errorf("statement %s allows %s", s.Sid, a)
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
	for _, want := range []string{"repository", "imageBucketName", "secretsKeyArn"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not name %s: %v", want, err)
		}
	}
}
