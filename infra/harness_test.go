package infra

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synth"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The notification secret the tests configure, as an operator would with `--secret`. It must never
// show up in plain text anywhere.
var testNotificationAuth = base64.StdEncoding.EncodeToString([]byte("registry-notifier:s3cr3t-Pa55word-for-tests"))

const project = "synapse-docker-registry"

const testSecretVersionID = "terraform-20261123000000000000000001"

var stacks = []string{"dev", "prod"}

// resolvedOutputs are the stack outputs once known.
type resolvedOutputs map[string]string

// run is one synthesized stack.
type run struct {
	// Result is what the stack declares, its instance's children under the names they are
	// declared with (see childrenByBaseName); raw is exactly what was registered.
	*synth.Result
	raw     *synth.Result
	cfg     *synth.StackConfig
	outputs resolvedOutputs
}

// loadStack reads the committed stack files the way the CLI does, with the notification secret
// set, then applies overrides ("" deletes a key). Keys without a namespace are the project's.
func loadStack(t testing.TB, stack string, overrides map[string]string) *synth.StackConfig {
	t.Helper()
	cfg, _, err := synth.LoadStack("..", stack, synth.LoadOptions{
		Placeholders: map[string]string{"notificationAuth": testNotificationAuth},
	})
	if err != nil {
		t.Fatalf("loading stack %s: %v", stack, err)
	}
	for k, v := range overrides {
		if !strings.Contains(k, ":") {
			k = project + ":" + k
		}
		if v == "" {
			delete(cfg.Config, k)
		} else {
			cfg.Config[k] = v
		}
	}
	return cfg
}

// synthesize runs the program under mocks and resolves its outputs.
// more adds mocks (e.g. ones that keep state across runs, as a stack's state does).
func synthesize(t testing.TB, cfg *synth.StackConfig, more ...synth.Option) (*run, error) {
	t.Helper()
	var mu sync.Mutex
	outputs := resolvedOutputs{}
	res, err := synth.Run(func(ctx *pulumi.Context) error {
		out, err := Deploy(ctx)
		if err != nil {
			return err
		}
		for name, value := range out.OutputMap() {
			o := value.(pulumi.StringOutput)
			// Exported, so the run waits for the apply: an output that no resource joins
			// (a name known from config) would otherwise be read before it is resolved.
			ctx.Export("resolved:"+name, o.ApplyT(func(v string) string {
				mu.Lock()
				defer mu.Unlock()
				outputs[name] = v
				return v
			}))
		}
		return nil
	}, cfg, append([]synth.Option{
		// A secret version id the task definition must carry.
		synth.WithResourceMock(tSecretVersion, func(r *synth.MockResource) error {
			r.Set("versionId", testSecretVersionID)
			return nil
		}),
		// Readable security group ids let rule assertions name the groups they connect.
		synth.WithResourceMock(tSecurityGroup, func(r *synth.MockResource) error {
			r.ID = "sg-" + r.Name
			r.Set("id", r.ID)
			return nil
		}),
	}, more...)...)
	if err != nil {
		return nil, err
	}
	prefix := StackInstanceName(cfg.Project, res.Stack) + "-"
	for name, v := range outputs {
		outputs[name] = strings.ReplaceAll(v, prefix, "")
	}
	return &run{Result: childrenByBaseName(res, prefix), raw: res, cfg: cfg, outputs: outputs}, nil
}

// childrenByBaseName returns res with the stack instance's name prefix taken off every child's
// name and off every value that carries one (the mocks name a resource after its logical name):
// the behaviour tests read the stack as declared, the naming tests (names_test.go) read raw.
func childrenByBaseName(res *synth.Result, prefix string) *synth.Result {
	out := &synth.Result{Stack: res.Stack, Warnings: res.Warnings}
	for _, r := range res.Resources {
		r.Name = strings.TrimPrefix(r.Name, prefix)
		deps := make([]string, len(r.DependsOn))
		for i, d := range r.DependsOn {
			deps[i] = strings.TrimPrefix(d, prefix)
		}
		r.DependsOn = deps
		r.Inputs = withoutPrefix(r.Inputs, prefix).(map[string]any)
		out.Resources = append(out.Resources, r)
	}
	return out
}

func withoutPrefix(v any, prefix string) any {
	switch x := v.(type) {
	case string:
		return strings.ReplaceAll(x, prefix, "")
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = withoutPrefix(e, prefix)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = withoutPrefix(e, prefix)
		}
		return l
	}
	return v
}

var (
	stackRunsMu sync.Mutex
	stackRuns   = map[string]*run{}
)

// stackRun is the committed stack file's synthesis, computed once per test binary.
func stackRun(t *testing.T, stack string) *run {
	t.Helper()
	stackRunsMu.Lock()
	defer stackRunsMu.Unlock()
	if r, ok := stackRuns[stack]; ok {
		return r
	}
	r, err := synthesize(t, loadStack(t, stack, nil))
	if err != nil {
		t.Fatalf("stack %s: %v", stack, err)
	}
	stackRuns[stack] = r
	return r
}

// withOverrides synthesizes a stack with some config changed.
func withOverrides(t *testing.T, stack string, overrides map[string]string) *run {
	t.Helper()
	r, err := synthesize(t, loadStack(t, stack, overrides))
	if err != nil {
		t.Fatalf("stack %s with %v: %v", stack, overrides, err)
	}
	return r
}

func forEachStack(t *testing.T, test func(t *testing.T, r *run)) {
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) { test(t, stackRun(t, stack)) })
	}
}

// one returns the only resource of a type declared as base, failing the test otherwise.
func (r *run) one(t *testing.T, token, name string) synth.Resource {
	t.Helper()
	res, ok := r.Get(token, name)
	if !ok {
		var names []string
		for _, x := range r.ByType(token) {
			names = append(names, x.Name)
		}
		t.Fatalf("no %s named %q (have %v)", token, name, names)
	}
	return res
}

func (r *run) config(key string) string {
	if !strings.Contains(key, ":") {
		key = project + ":" + key
	}
	return r.cfg.Config[key]
}

// Resource types used by the assertions.
const (
	tProvider             = "pulumi:providers:aws"
	tVpc                  = "aws:ec2/vpc:Vpc"
	tSubnet               = "aws:ec2/subnet:Subnet"
	tRouteTable           = "aws:ec2/routeTable:RouteTable"
	tRouteAssoc           = "aws:ec2/routeTableAssociation:RouteTableAssociation"
	tRoute                = "aws:ec2/route:Route"
	tInternetGateway      = "aws:ec2/internetGateway:InternetGateway"
	tNatGateway           = "aws:ec2/natGateway:NatGateway"
	tEip                  = "aws:ec2/eip:Eip"
	tFlowLog              = "aws:ec2/flowLog:FlowLog"
	tDefaultSecurityGroup = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
	tVpcEndpoint          = "aws:ec2/vpcEndpoint:VpcEndpoint"
	tBucket               = "aws:s3/bucketV2:BucketV2"
	tPublicAccess         = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
	tOwnership            = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
	tEncryption           = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
	tBucketPolicy         = "aws:s3/bucketPolicy:BucketPolicy"
	tVersioning           = "aws:s3/bucketVersioningV2:BucketVersioningV2"
	tLifecycle            = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
	tRandomBytes          = "random:index/randomBytes:RandomBytes"
	tSecret               = "aws:secretsmanager/secret:Secret"
	tSecretVersion        = "aws:secretsmanager/secretVersion:SecretVersion"
	tRepository           = "aws:ecr/repository:Repository"
	tEcrLifecycle         = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
	tImage                = "docker:index/image:Image"
	tCertificate          = "aws:acm/certificate:Certificate"
	tCertValidation       = "aws:acm/certificateValidation:CertificateValidation"
	tRecord               = "aws:route53/record:Record"
	tSecurityGroup        = "aws:ec2/securityGroup:SecurityGroup"
	tIngress              = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	tEgress               = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
	tLoadBalancer         = "aws:lb/loadBalancer:LoadBalancer"
	tTargetGroup          = "aws:lb/targetGroup:TargetGroup"
	tListener             = "aws:lb/listener:Listener"
	tCluster              = "aws:ecs/cluster:Cluster"
	tLogGroup             = "aws:cloudwatch/logGroup:LogGroup"
	tRole                 = "aws:iam/role:Role"
	tRolePolicy           = "aws:iam/rolePolicy:RolePolicy"
	tTaskDefinition       = "aws:ecs/taskDefinition:TaskDefinition"
	tService              = "aws:ecs/service:Service"
	tScalingTarget        = "aws:appautoscaling/target:Target"
	tScalingPolicy        = "aws:appautoscaling/policy:Policy"
	tMetricAlarm          = "aws:cloudwatch/metricAlarm:MetricAlarm"
	tDashboard            = "aws:cloudwatch/dashboard:Dashboard"
	tTopic                = "aws:sns/topic:Topic"
	tTopicSub             = "aws:sns/topicSubscription:TopicSubscription"
	tKmsKey               = "aws:kms/key:Key"
	tComponent            = ComponentType
	secretPlaceholder     = synth.SecretValue
)

// policyDoc parses an IAM or bucket policy the way AWS reads it: Action, Resource and Principal
// values may be a string or a list.
type policyDoc struct {
	Statement []struct {
		Sid       string
		Effect    string
		Principal any
		Action    any
		Resource  any
		Condition map[string]map[string]any
	}
}

func parsePolicy(t *testing.T, what, text string) policyDoc {
	t.Helper()
	var doc policyDoc
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatalf("%s is not a policy document: %v\n%s", what, err, text)
	}
	if len(doc.Statement) == 0 {
		t.Fatalf("%s has no statements", what)
	}
	return doc
}

func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = fmt.Sprint(e)
		}
		return out
	}
	return nil
}

// containerDefinitions parses the task definition's container definitions.
func (r *run) containers(t *testing.T) []map[string]any {
	t.Helper()
	td := r.one(t, tTaskDefinition, "registry")
	var defs []map[string]any
	if err := json.Unmarshal([]byte(td.InputString("containerDefinitions")), &defs); err != nil {
		t.Fatalf("containerDefinitions: %v", err)
	}
	if len(defs) != 1 {
		t.Fatalf("want one container, got %d", len(defs))
	}
	return defs
}
