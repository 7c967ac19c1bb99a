package infra

import (
	"encoding/json"
	"reflect"

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

// policyJSON renders a document built from one value known only at deployment (an ARN, an
// account id), which build receives under the name it gives it.
func policyJSON(value pulumi.StringOutput, build func(value string) PolicyDocument) pulumi.StringOutput {
	return value.ApplyT(func(value string) (string, error) {
		return marshalPolicy(build(value))
	}).(pulumi.StringOutput)
}

// policyJSONFrom renders a document built from several values known only at deployment, read by
// name: see resolveNamed.
func policyJSONFrom[V any](inputs pulumi.Input, build func(values V) PolicyDocument) pulumi.StringOutput {
	return resolveNamed(inputs, func(values V) (string, error) {
		return marshalPolicy(build(values))
	})
}

func marshalPolicy(doc PolicyDocument) (string, error) {
	b, err := json.Marshal(doc)
	return string(b), err
}

// resolveNamed renders a string from several outputs read by name, not by position: inputs is a
// struct of pulumi inputs whose ElementType is V, a struct with the same fields as plain values,
// which is how the SDK resolves its own Args types (pulumi.ToOutput awaits every field).
func resolveNamed[V any](inputs pulumi.Input, render func(values V) (string, error)) pulumi.StringOutput {
	if want := reflect.TypeFor[V](); inputs.ElementType() != want {
		panic("resolveNamed: " + reflect.TypeOf(inputs).String() + " resolves to " + inputs.ElementType().String() + ", not " + want.String())
	}
	return pulumi.ToOutput(inputs).ApplyT(func(resolved any) (string, error) {
		return render(resolved.(V))
	}).(pulumi.StringOutput)
}

// assumeRolePolicy lets one AWS service assume a role, only on behalf of this account (confused
// deputy protection).
func assumeRolePolicy(service string, accountID pulumi.StringOutput) pulumi.StringOutput {
	return policyJSON(accountID, func(accountID string) PolicyDocument {
		return policy(PolicyStatement{
			Effect:    "Allow",
			Principal: map[string]any{"Service": service},
			Action:    []string{"sts:AssumeRole"},
			Condition: map[string]map[string]string{"StringEquals": {"aws:SourceAccount": accountID}},
		})
	})
}
