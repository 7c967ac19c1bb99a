package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/Sage-Bionetworks/synapse-docker-registry/infra"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synth"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The registry stack as `pulumi up` would see it: both stacks synthesized under the mocks, with
// the physical names and ARNs AWS would give, and every data source the program calls.

// autonamed: the types whose physical name the provider generates from the logical name when
// infra/ sets none, and the property it goes in. Pulumi's auto-naming appends a dash and seven
// random hex digits (Pulumi docs, "Resource names: auto-naming").
var autonamed = map[string]string{
	"aws:iam/role:Role": "name", "aws:ecr/repository:Repository": "name", "aws:ecs/cluster:Cluster": "name",
	"aws:ecs/service:Service": "name", "aws:lb/loadBalancer:LoadBalancer": "name", "aws:lb/targetGroup:TargetGroup": "name",
	"aws:secretsmanager/secret:Secret": "name", "aws:sqs/queue:Queue": "name", "aws:sns/topic:Topic": "name",
	"aws:cloudwatch/metricAlarm:MetricAlarm": "name", "aws:s3/bucketV2:BucketV2": "bucket",
}

// realARNs: ARN formats (Service Authorization Reference, "Resource types defined by ...") of the
// types the synth mocks give a generic or simplified ARN.
var realARNs = map[string]func(r *synth.MockResource) string{
	"aws:sns/topic:Topic": func(r *synth.MockResource) string {
		return fmt.Sprintf("arn:aws:sns:%s:%s:%s", r.Region, r.Account, r.In("name"))
	},
	"aws:cloudwatch/metricAlarm:MetricAlarm": func(r *synth.MockResource) string {
		return fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", r.Region, r.Account, r.In("name"))
	},
	// A listener's ARN carries its load balancer's name and id (the synth mock names the listener).
	"aws:lb/listener:Listener": func(r *synth.MockResource) string {
		return strings.Replace(r.In("loadBalancerArn"), ":loadbalancer/", ":listener/", 1) + "/" + r.Hex(16)
	},
	"aws:cloudwatch/dashboard:Dashboard": func(r *synth.MockResource) string {
		return fmt.Sprintf("arn:aws:cloudwatch::%s:dashboard/%s", r.Account, r.In("dashboardName"))
	},
}

type declaredStack struct {
	res     *synth.Result
	arns    map[string]string // type|logical name -> ARN
	invokes map[string]bool
}

var (
	declaredOnce sync.Once
	declared     map[string]*declaredStack
	declaredErr  error
)

// declaredStacks synthesizes dev and prod once for all tests.
func declaredStacks(t *testing.T) map[string]*declaredStack {
	t.Helper()
	declaredOnce.Do(func() {
		declared = map[string]*declaredStack{}
		for _, stack := range []string{"dev", "prod"} {
			d, err := synthesizeApp(stack)
			if err != nil {
				declaredErr = fmt.Errorf("stack %s: %w", stack, err)
				return
			}
			declared[stack] = d
		}
	})
	if declaredErr != nil {
		t.Fatal(declaredErr)
	}
	return declared
}

func synthesizeApp(stack string) (*declaredStack, error) {
	cfg, _, err := synth.LoadStack(filepath.Join("..", ".."), stack, synth.LoadOptions{Placeholders: infra.SecretPlaceholders})
	if err != nil {
		return nil, err
	}
	d := &declaredStack{arns: map[string]string{}, invokes: map[string]bool{}}
	var mu sync.Mutex
	mocks := synth.DefaultMocks()
	for token, prop := range autonamed {
		builtin, prop := mocks.Resources[token], prop
		mocks.Resources[token] = func(r *synth.MockResource) error {
			if r.In(prop) == "" && r.In("namePrefix") == "" && r.In("bucketPrefix") == "" {
				name := r.Name + "-" + r.Hex(7)
				r.Inputs[resource.PropertyKey(prop)] = resource.NewStringProperty(name)
				r.Set(prop, name)
			}
			if builtin != nil {
				return builtin(r)
			}
			return nil
		}
	}
	for token, arn := range realARNs {
		before, arn := mocks.Resources[token], arn
		mocks.Resources[token] = func(r *synth.MockResource) error {
			if before != nil {
				if err := before(r); err != nil {
					return err
				}
			}
			r.Set("arn", arn(r))
			return nil
		}
	}
	for token, fn := range mocks.Resources {
		fn := fn
		token := token
		mocks.Resources[token] = func(r *synth.MockResource) error {
			if err := fn(r); err != nil {
				return err
			}
			if v, ok := r.Outputs["arn"]; ok && v.IsString() {
				mu.Lock()
				d.arns[r.Type+"|"+r.Name] = v.StringValue()
				mu.Unlock()
			}
			return nil
		}
	}
	for token, fn := range mocks.Invokes {
		token, fn := token, fn
		mocks.Invokes[token] = func(c synth.MockCall) (resource.PropertyMap, error) {
			mu.Lock()
			d.invokes[token] = true
			mu.Unlock()
			return fn(c)
		}
	}
	d.res, err = synth.Run(func(ctx *pulumi.Context) error { _, err := infra.Deploy(ctx); return err }, cfg, synth.WithMocks(mocks))
	return d, err
}

// arnOf: the ARN a declared resource's actions authorize on, where it is known before AWS
// assigns ids: its own, or that of the resource it configures.
func (d *declaredStack) arnOf(r synth.Resource) string {
	switch r.Type {
	case "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
		"aws:s3/bucketPolicy:BucketPolicy", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
		"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", "aws:s3/bucketVersioningV2:BucketVersioningV2":
		return "arn:aws:s3:::" + r.InputString("bucket")
	case "aws:iam/rolePolicy:RolePolicy":
		return "arn:aws:iam::" + synth.MockAccountID + ":role/" + r.InputString("role")
	case "aws:ecr/lifecyclePolicy:LifecyclePolicy":
		return fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", synth.MockRegion, synth.MockAccountID, r.InputString("repository"))
	case "aws:route53/record:Record":
		return "arn:aws:route53:::hostedzone/" + r.InputString("zoneId")
	case "aws:cloudwatch/logGroup:LogGroup", "aws:ecr/repository:Repository", "aws:ecs/cluster:Cluster", "aws:ecs/service:Service",
		"aws:iam/role:Role", "aws:secretsmanager/secret:Secret", "aws:sqs/queue:Queue", "aws:sns/topic:Topic",
		"aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/dashboard:Dashboard", "aws:s3/bucketV2:BucketV2",
		"aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup", "aws:lb/listener:Listener",
		"aws:acm/certificate:Certificate", "aws:ecs/taskDefinition:TaskDefinition":
		return d.arns[r.Type+"|"+r.Name]
	case "aws:acm/certificateValidation:CertificateValidation":
		return r.InputString("certificateArn")
	}
	return ""
}

func (d *declaredStack) types() map[string]bool {
	out := map[string]bool{}
	for _, r := range d.res.Resources {
		out[r.Type] = true
	}
	return out
}

// Every resource type and data source the stack declares has its entry in the table, so a
// new resource cannot ship without the deploy role being able to create it.
func TestEveryDeclaredTypeHasPermissions(t *testing.T) {
	for stack, d := range declaredStacks(t) {
		for typ := range d.types() {
			if _, ok := resourceTypePermissions[typ]; !ok {
				t.Errorf("stack %s declares %s, which ci/roles/permissions.go's resourceTypePermissions lacks: add the IAM actions its create, read, update, delete and tagging call", stack, typ)
			}
		}
		for token := range d.invokes {
			if _, ok := invokePermissions[token]; !ok {
				t.Errorf("stack %s calls the data source %s, which ci/roles/permissions.go's invokePermissions lacks", stack, token)
			}
		}
	}
}

// No entry for a type or data source the stack no longer declares: the role would keep
// permissions nothing uses.
func TestNoPermissionsForUndeclaredTypes(t *testing.T) {
	types, invokes := map[string]bool{}, map[string]bool{}
	for _, d := range declaredStacks(t) {
		for typ := range d.types() {
			types[typ] = true
		}
		for token := range d.invokes {
			invokes[token] = true
		}
	}
	for typ := range resourceTypePermissions {
		if !types[typ] {
			t.Errorf("resourceTypePermissions has %s, which neither stack declares", typ)
		}
	}
	for token := range invokePermissions {
		if !invokes[token] {
			t.Errorf("invokePermissions has %s, which neither stack calls", token)
		}
	}
}

// The deploy role allows every action of the table on the resource each declared resource
// really is (its ARN from the stack's names), in the stack's region; the preview role the read
// actions. A rename in infra/ that leaves the role's ARN patterns behind fails here.
func TestRolesAllowTheTableOnTheDeclaredResources(t *testing.T) {
	for stack, d := range declaredStacks(t) {
		roles := synthRoles(t, stack, map[string]string{"imageBucketName": imageBucketOf(t, d)})
		deploy, preview := roleStatements(t, roles, "deploy"), roleStatements(t, roles, "preview")
		e := newExpander(rolesConfig{region: synth.MockRegion, imageBucket: imageBucketOf(t, d)}, synth.MockAccountID, stack)
		for _, r := range d.res.Resources {
			arn := d.arnOf(r)
			for _, p := range resourceTypePermissions[r.Type] {
				target := arn
				if len(p.On) == 0 {
					target = "*"
				} else if arn == "" || !aimsAt(p.On, e, arn) {
					continue // an ARN of AWS's ids (a certificate, a listener, a Route 53 change)
				}
				for _, a := range with(p.Manage, p.Read...) {
					if !allowed(deploy, a, target, requestContext(a)) {
						t.Errorf("%s: the deploy role may not %s on %s (%s %s)", stack, a, target, r.Type, r.Name)
					}
				}
				for _, a := range p.Read {
					if !allowed(preview, a, target, requestContext(a)) {
						t.Errorf("%s: the preview role may not %s on %s (%s %s)", stack, a, target, r.Type, r.Name)
					}
				}
			}
		}
	}
}

// aimsAt: one of the templates names the same service and kind of resource as arn, so its
// actions authorize on that ARN and must match it.
func aimsAt(templates []string, e expander, arn string) bool {
	for _, t := range e.all(templates) {
		if resourceKind(t) == resourceKind(arn) {
			return true
		}
	}
	return false
}

// resourceKind: service, account and resource type of an ARN (arn:partition:service:region:
// account:type/...). S3, SQS and SNS resources have no type: buckets and objects differ by a
// slash, queues and topics are the service's only kind.
func resourceKind(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return arn
	}
	service, resource := parts[2], parts[5]
	kind := resource
	switch service {
	case "s3":
		kind = "bucket"
		if strings.Contains(resource, "/") {
			kind = "object"
		}
	case "sqs", "sns":
		kind = ""
	default:
		if i := strings.IndexAny(resource, "/:"); i >= 0 {
			kind = resource[:i]
		}
	}
	return service + ":" + parts[3] + ":" + parts[4] + ":" + kind
}

func imageBucketOf(t *testing.T, d *declaredStack) string {
	t.Helper()
	// The registry's children are named <registry name>-<base>; the image bucket's base is "images".
	var r synth.Resource
	ok := false
	for _, res := range d.res.Resources {
		if res.Type == "aws:s3/bucketVersioningV2:BucketVersioningV2" && strings.HasSuffix(res.Name, "-images") {
			r, ok = res, true
		}
	}
	if !ok {
		t.Fatal("the stack declares no image bucket versioning")
	}
	return r.InputString("bucket")
}

// requestContext: the condition keys AWS sets on a request from the stack's region.
func requestContext(action string) map[string]string {
	region := synth.MockRegion
	if globalServices[service(action)] {
		region = "us-east-1"
	}
	return map[string]string{"aws:RequestedRegion": region}
}

// The roles grant nothing the table does not list: no wildcard action, and every allowed
// action is a table action (Manage or Read for the deploy role, Read for the preview role), or
// one of the few the roles add themselves (passing roles, service-linked roles, the state and
// the secrets key).
func TestRolesGrantOnlyTableActions(t *testing.T) {
	deployOwn := map[string]bool{"iam:PassRole": true, "iam:CreateServiceLinkedRole": true, "kms:Decrypt": true,
		"s3:GetObject": true, "s3:PutObject": true, "s3:DeleteObject": true, "s3:ListBucket": true}
	previewOwn := map[string]bool{"kms:Decrypt": true, "s3:GetObject": true, "s3:ListBucket": true}
	deployTable, previewTable := map[string]bool{}, map[string]bool{}
	for _, p := range tablePerms(true) {
		for _, a := range with(p.Manage, p.Read...) {
			deployTable[a] = true
		}
	}
	for _, p := range tablePerms(false) {
		for _, a := range p.Read {
			previewTable[a] = true
		}
	}
	for _, stack := range []string{"dev", "prod"} {
		res := synthRoles(t, stack, nil)
		for _, c := range []struct {
			role       string
			table, own map[string]bool
		}{{"deploy", deployTable, deployOwn}, {"preview", previewTable, previewOwn}} {
			for _, s := range roleStatements(t, res, c.role) {
				if s.Effect != "Allow" {
					continue
				}
				for _, a := range list(s.Action) {
					if strings.Contains(a, "*") {
						t.Errorf("%s %s role: statement %s allows the wildcard %s", stack, c.role, s.Sid, a)
					}
					if !c.table[a] && !c.own[a] {
						t.Errorf("%s %s role: statement %s allows %s, which the table does not list", stack, c.role, s.Sid, a)
					}
				}
				// The roles' own additions are limited to their resources.
				if c.own[a0(s)] && !c.table[a0(s)] && containsStar(list(s.Resource)) && a0(s) != "iam:CreateServiceLinkedRole" {
					t.Errorf("%s %s role: statement %s allows %s on *", stack, c.role, s.Sid, a0(s))
				}
			}
		}
	}
}

func a0(s policyStatement) string {
	if as := list(s.Action); len(as) > 0 {
		return as[0]
	}
	return ""
}

func containsStar(rs []string) bool {
	for _, r := range rs {
		if r == "*" {
			return true
		}
	}
	return false
}
