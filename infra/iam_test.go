package infra

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// IAM: least privilege, no users or keys, names AWS accepts.
func TestIAM(t *testing.T) {
	namePattern := regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
	forEachStack(t, func(t *testing.T, r *run) {
		for _, token := range []string{"aws:iam/user:User", "aws:iam/accessKey:AccessKey"} {
			if len(r.ByType(token)) != 0 {
				t.Errorf("the stack declares %s", token)
			}
		}
		// Every policy document in the stack: no Allow of a non-read action on "*".
		for _, res := range r.Resources {
			for _, key := range []string{"policy", "assumeRolePolicy"} {
				text := res.InputString(key)
				// A key policy's "*" resource is the key itself; TestAlarmTopicIsEncrypted checks it.
				if text == "" || res.Type == tEcrLifecycle || res.Type == tKmsKey {
					continue
				}
				for _, s := range parsePolicy(t, res.Name+"."+key, text).Statement {
					// FSBP IAM.1 and IAM.21: no "*" or "service:*" action is allowed.
					for _, a := range stringList(s.Action) {
						if s.Effect == "Allow" && strings.HasSuffix(a, "*") {
							t.Errorf("%s %s allows the wildcard action %s", res.Type, res.Name, a)
						}
					}
					if s.Effect != "Allow" || !slices.Contains(stringList(s.Resource), "*") {
						continue
					}
					for _, a := range stringList(s.Action) {
						if a != "ecr:GetAuthorizationToken" {
							t.Errorf("%s %s allows %s on *", res.Type, res.Name, a)
						}
					}
				}
			}
		}
		bucketArn := "arn:aws:s3:::" + r.outputs["bucketName"]
		task := parsePolicy(t, "task policy", r.one(t, tRolePolicy, "task-policy").InputString("policy"))
		for _, s := range task.Statement {
			for _, res := range stringList(s.Resource) {
				if res != bucketArn && res != bucketArn+"/*" {
					t.Errorf("task role reaches %s beyond its bucket", res)
				}
			}
			for _, a := range stringList(s.Action) {
				if !strings.HasPrefix(a, "s3:") || a == "s3:*" || strings.Contains(a, "Policy") || strings.Contains(a, "Acl") {
					t.Errorf("task role action %s", a)
				}
			}
		}
		exec := parsePolicy(t, "execution policy", r.one(t, tRolePolicy, "execution-policy").InputString("policy"))
		grants := map[string][]string{}
		for _, s := range exec.Statement {
			for _, a := range stringList(s.Action) {
				grants[a] = stringList(s.Resource)
			}
		}
		if fmt.Sprint(grants["secretsmanager:GetSecretValue"]) != fmt.Sprint([]string{r.outputs["secretArn"]}) {
			t.Errorf("execution role reads secrets %v, want only %s", grants["secretsmanager:GetSecretValue"], r.outputs["secretArn"])
		}
		if g := grants["ecr:BatchGetImage"]; len(g) != 1 || !strings.HasSuffix(g[0], ":repository/registry") {
			t.Errorf("execution role pulls from %v", g)
		}
		if g := grants["logs:PutLogEvents"]; len(g) != 1 || !strings.Contains(g[0], ":log-group:"+r.outputs["logGroupName"]) {
			t.Errorf("execution role writes logs to %v", g)
		}
		for _, rp := range r.ByType(tRolePolicy) {
			if !namePattern.MatchString(rp.InputString("name")) {
				t.Errorf("policy name %q is not one IAM accepts", rp.InputString("name"))
			}
		}
		for _, role := range r.ByType(tRole) {
			assume := parsePolicy(t, role.Name+" trust", role.InputString("assumeRolePolicy"))
			s := assume.Statement[0]
			service := map[string]string{"flow-logs": "vpc-flow-logs.amazonaws.com"}[role.Name]
			if service == "" {
				service = "ecs-tasks.amazonaws.com"
			}
			if fmt.Sprint(s.Principal) != "map[Service:"+service+"]" || fmt.Sprint(s.Condition["StringEquals"]["aws:SourceAccount"]) != "123456789012" {
				t.Errorf("role %s trusts %v %v", role.Name, s.Principal, s.Condition)
			}
		}
	})
}
