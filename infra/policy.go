package infra

import (
	"encoding/json"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// PolicyDocument is an IAM policy in typed form, so policies are built from values, not
// hand-written JSON, and tests can parse them back.
type PolicyDocument struct {
	Version   string            `json:"Version"`
	Statement []PolicyStatement `json:"Statement"`
}

type PolicyStatement struct {
	Sid       string                       `json:"Sid,omitempty"`
	Effect    string                       `json:"Effect"`
	Principal map[string]any               `json:"Principal,omitempty"`
	Action    []string                     `json:"Action"`
	Resource  []string                     `json:"Resource,omitempty"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

func policy(statements ...PolicyStatement) PolicyDocument {
	return PolicyDocument{Version: "2012-10-17", Statement: statements}
}

func allow(actions []string, resources ...string) PolicyStatement {
	return PolicyStatement{Effect: "Allow", Action: actions, Resource: resources}
}

// policyJSON renders a document whose resources are known only once the given outputs resolve.
func policyJSON(build func(values []string) PolicyDocument, values ...pulumi.StringOutput) pulumi.StringOutput {
	inputs := make([]any, len(values))
	for i, v := range values {
		inputs[i] = v
	}
	return pulumi.All(inputs...).ApplyT(func(resolved []any) (string, error) {
		strs := make([]string, len(resolved))
		for i, v := range resolved {
			strs[i] = v.(string)
		}
		b, err := json.Marshal(build(strs))
		return string(b), err
	}).(pulumi.StringOutput)
}

// assumeRolePolicy lets one AWS service assume a role, only on behalf of this account (confused
// deputy protection).
func assumeRolePolicy(service string, accountID pulumi.StringOutput) pulumi.StringOutput {
	return policyJSON(func(v []string) PolicyDocument {
		return policy(PolicyStatement{
			Effect:    "Allow",
			Principal: map[string]any{"Service": service},
			Action:    []string{"sts:AssumeRole"},
			Condition: map[string]map[string]string{"StringEquals": {"aws:SourceAccount": v[0]}},
		})
	}, accountID)
}
