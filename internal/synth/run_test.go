package synth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Resource states for raw registrations: no provider SDK needed.
type custom struct {
	pulumi.CustomResourceState
	Arn    pulumi.StringOutput `pulumi:"arn"`
	Name   pulumi.StringOutput `pulumi:"name"`
	Bucket pulumi.StringOutput `pulumi:"bucket"`
}

type provider struct {
	pulumi.ProviderResourceState
}

type component struct {
	pulumi.ResourceState
}

type vpc struct {
	pulumi.ResourceState
	VpcID            pulumi.StringOutput      `pulumi:"vpcId"`
	PublicSubnetIDs  pulumi.StringArrayOutput `pulumi:"publicSubnetIds"`
	PrivateSubnetIDs pulumi.StringArrayOutput `pulumi:"privateSubnetIds"`
}

// require is what config.Require does (that package needs a module this
// repository does not otherwise use): panic on a missing key.
func require(ctx *pulumi.Context, key string) string {
	full := key
	if !strings.Contains(key, ":") {
		full = ctx.Project() + ":" + key
	}
	v, ok := ctx.GetConfig(full)
	if !ok {
		panic(fmt.Errorf("Missing required configuration variable '%s'\n"+
			"\tplease set a value using the command `pulumi config set %s <value>`", full, full))
	}
	return v
}

// requireSecret is config.RequireSecret.
func requireSecret(ctx *pulumi.Context, key string) pulumi.StringOutput {
	return pulumi.ToSecret(pulumi.String(require(ctx, key))).(pulumi.StringOutput)
}

// testStack is a config for programs that read none.
func testStack() *StackConfig {
	return &StackConfig{Project: "proj", Stack: "dev", Config: map[string]string{"aws:region": "us-east-1"}}
}

// sampleProgram registers a little of everything, concurrently through
// applies, so ordering and determinism are exercised.
func sampleProgram(ctx *pulumi.Context) error {
	var aws provider
	if err := ctx.RegisterResource("pulumi:providers:aws", "aws", pulumi.Map{
		"region": pulumi.String("us-west-2"),
	}, &aws); err != nil {
		return err
	}
	var group component
	if err := ctx.RegisterComponentResource("synth:test:Group", "group", &group); err != nil {
		return err
	}
	var bucket custom
	if err := ctx.RegisterResource("aws:s3/bucketV2:BucketV2", "images", pulumi.Map{
		"bucket": pulumi.String("images.example.org"),
		"tags":   pulumi.StringMap{"Team": pulumi.String("platform")},
	}, &bucket, pulumi.Parent(&group), pulumi.Provider(&aws), pulumi.Protect(true), pulumi.RetainOnDelete(true)); err != nil {
		return err
	}
	var role custom
	if err := ctx.RegisterResource("aws:iam/role:Role", "task", pulumi.Map{
		"assumeRolePolicy": pulumi.String(`{"Version":"2012-10-17"}`),
	}, &role, pulumi.Provider(&aws)); err != nil {
		return err
	}
	// An input computed from two outputs: an implicit dependency on both.
	policy := pulumi.All(bucket.Arn, role.Arn).ApplyT(func(v []interface{}) string {
		return fmt.Sprintf(`{"Resource":"%s/*","Principal":"%s"}`, v[0], v[1])
	}).(pulumi.StringOutput)
	var bp custom
	if err := ctx.RegisterResource("aws:s3/bucketPolicy:BucketPolicy", "images", pulumi.Map{
		"bucket": bucket.Bucket,
		"policy": policy,
	}, &bp, pulumi.Parent(&group), pulumi.Provider(&aws)); err != nil {
		return err
	}
	var logs custom
	if err := ctx.RegisterResource("aws:cloudwatch/logGroup:LogGroup", "logs", pulumi.Map{
		"retentionInDays": pulumi.Int(30),
	}, &logs, pulumi.Provider(&aws), pulumi.DependsOn([]pulumi.Resource{&bp}),
		pulumi.IgnoreChanges([]string{"tags", "name"}), pulumi.Import(pulumi.ID("existing-logs"))); err != nil {
		return err
	}
	var net vpc
	if err := ctx.RegisterRemoteComponentResource("awsx:ec2:Vpc", "vpc", pulumi.Map{
		"cidrBlock":   pulumi.String("10.0.0.0/24"),
		"natGateways": pulumi.Map{"strategy": pulumi.String("Single")},
	}, &net, pulumi.Providers(&aws)); err != nil {
		return err
	}
	for i := 0; i < 8; i++ {
		var sg custom
		subnet := net.PrivateSubnetIDs.Index(pulumi.Int(i % 2))
		if err := ctx.RegisterResource("aws:ec2/securityGroup:SecurityGroup", fmt.Sprintf("sg-%d", i), pulumi.Map{
			"vpcId":       net.VpcID,
			"description": subnet,
			"ingress": pulumi.Array{pulumi.Map{
				"protocol": pulumi.String("tcp"), "fromPort": pulumi.Int(443), "toPort": pulumi.Int(443),
				"cidrBlocks": pulumi.StringArray{pulumi.String("0.0.0.0/0")},
			}},
		}, &sg, pulumi.Provider(&aws)); err != nil {
			return err
		}
	}
	return nil
}

func mustRun(t *testing.T, program func(*pulumi.Context) error, cfg *StackConfig, opts ...Option) *Result {
	t.Helper()
	res, err := Run(program, cfg, opts...)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

func mustGet(t *testing.T, res *Result, typ, name string) Resource {
	t.Helper()
	r, ok := res.Get(typ, name)
	if !ok {
		t.Fatalf("no %s %q among %d resources", typ, name, len(res.Resources))
	}
	return r
}

func TestRunRecordsResources(t *testing.T) {
	res := mustRun(t, sampleProgram, testStack())
	if res.Stack != "dev" {
		t.Errorf("Stack = %q", res.Stack)
	}
	if got, want := len(res.Resources), 1+1+1+1+1+1+1+8; got != want {
		t.Errorf("%d resources, want %d", got, want)
	}

	prov := mustGet(t, res, "pulumi:providers:aws", "aws")
	if prov.Inputs["region"] != "us-west-2" || prov.Parent != "" || prov.Component {
		t.Errorf("provider = %+v", prov)
	}

	group := mustGet(t, res, "synth:test:Group", "group")
	if !group.Component || group.Parent != "" {
		t.Errorf("component = %+v", group)
	}

	bucket := mustGet(t, res, "aws:s3/bucketV2:BucketV2", "images")
	if bucket.Parent != "group" || bucket.Provider != "aws" || !bucket.Protect || !bucket.RetainOnDelete {
		t.Errorf("bucket = %+v", bucket)
	}
	if bucket.InputString("tags.Team") != "platform" || bucket.InputString("bucket") != "images.example.org" {
		t.Errorf("bucket inputs = %v", bucket.Inputs)
	}

	// Outputs of the mocks feed inputs: S3 and IAM ARNs in a policy document,
	// kept as the JSON string the program built.
	bp := mustGet(t, res, "aws:s3/bucketPolicy:BucketPolicy", "images")
	wantPolicy := `{"Resource":"arn:aws:s3:::images.example.org/*","Principal":"arn:aws:iam::123456789012:role/task"}`
	if bp.Inputs["policy"] != wantPolicy {
		t.Errorf("policy = %v\nwant     %s", bp.Inputs["policy"], wantPolicy)
	}
	if want := []string{"images", "task"}; !equal(bp.DependsOn, want) {
		t.Errorf("bucket policy dependsOn = %v, want %v", bp.DependsOn, want)
	}
	if bp.Parent != "group" {
		t.Errorf("bucket policy parent = %q", bp.Parent)
	}

	logs := mustGet(t, res, "aws:cloudwatch/logGroup:LogGroup", "logs")
	if !equal(logs.DependsOn, []string{"images"}) || logs.Import != "existing-logs" ||
		!equal(logs.IgnoreChanges, []string{"name", "tags"}) || logs.Inputs["retentionInDays"] != 30.0 {
		t.Errorf("log group = %+v", logs)
	}

	v := mustGet(t, res, "awsx:ec2:Vpc", "vpc")
	if !v.Component || v.Inputs["cidrBlock"] != "10.0.0.0/24" || v.Providers["aws"] != "aws" {
		t.Errorf("vpc = %+v", v)
	}
	sg := mustGet(t, res, "aws:ec2/securityGroup:SecurityGroup", "sg-3")
	if !strings.HasPrefix(sg.InputString("vpcId"), "vpc-") || !strings.HasPrefix(sg.InputString("description"), "subnet-") {
		t.Errorf("security group inputs from the vpc's outputs = %v", sg.Inputs)
	}
	if !equal(sg.DependsOn, []string{"vpc"}) {
		t.Errorf("security group dependsOn = %v", sg.DependsOn)
	}
	if got, _ := sg.Input("ingress[0].fromPort"); got != 443.0 {
		t.Errorf("ingress[0].fromPort = %v", got)
	}

	// Ordered by type, then name.
	for i := 1; i < len(res.Resources); i++ {
		a, b := res.Resources[i-1], res.Resources[i]
		if a.Type > b.Type || (a.Type == b.Type && a.Name > b.Name) {
			t.Errorf("not sorted: %s %s before %s %s", a.Type, a.Name, b.Type, b.Name)
		}
	}
	if n := len(res.ByType("aws:ec2/securityGroup:SecurityGroup")); n != 8 {
		t.Errorf("ByType found %d security groups", n)
	}
}

func equal(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00") && len(a) == len(b)
}

func TestRunIsDeterministic(t *testing.T) {
	first, err := mustRun(t, sampleProgram, testStack()).JSON()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		again, err := mustRun(t, sampleProgram, testStack()).JSON()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatalf("run %d differs:\n%s", i+2, Diff(string(first), string(again), 20))
		}
	}
}

func TestJSONShape(t *testing.T) {
	data, err := mustRun(t, sampleProgram, testStack()).JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(data, []byte("}\n")) || !bytes.HasPrefix(data, []byte("{\n  \"stack\": \"dev\",\n  \"resources\": [\n    {\n")) {
		t.Errorf("want 2-space indent and a trailing newline, got:\n%.200s", data)
	}
	if bytes.Contains(data, []byte(`\u003c`)) || bytes.Contains(data, []byte(`\u0026`)) {
		t.Error("HTML escaping in JSON")
	}
	var doc struct {
		Stack     string                   `json:"stack"`
		Resources []map[string]interface{} `json:"resources"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Stack != "dev" || len(doc.Resources) == 0 {
		t.Fatalf("doc = %+v", doc)
	}
	for _, r := range doc.Resources {
		for _, k := range []string{"type", "name", "parent", "inputs", "dependsOn"} {
			if _, ok := r[k]; !ok {
				t.Errorf("resource %v %v lacks %q", r["type"], r["name"], k)
			}
		}
		if r["dependsOn"] == nil || r["inputs"] == nil {
			t.Errorf("resource %v %v: null inputs or dependsOn", r["type"], r["name"])
		}
	}
}

func TestSecretsAreRedacted(t *testing.T) {
	const (
		topSecret    = "hunter2-top-level"
		nestedSecret = "hunter2-nested"
		applySecret  = "hunter2-apply"
	)
	cfg := testStack()
	cfg.Config["proj:token"] = "placeholder-token-value"
	cfg.SecretKeys = []string{"proj:token"}
	cfg.Placeholders = map[string]string{"proj:token": "placeholder-token-value"}

	res := mustRun(t, func(ctx *pulumi.Context) error {
		token := requireSecret(ctx, "token")
		var r custom
		return ctx.RegisterResource("aws:secretsmanager/secretVersion:SecretVersion", "v", pulumi.Map{
			"secretString": pulumi.ToSecret(pulumi.String(topSecret)),
			"nested": pulumi.Map{
				"plain":  pulumi.String("visible"),
				"secret": pulumi.ToSecret(pulumi.String(nestedSecret)),
				"list":   pulumi.Array{pulumi.String("ok"), pulumi.ToSecret(pulumi.String(nestedSecret))},
			},
			"fromApply":  pulumi.ToSecret(pulumi.String("x")).ApplyT(func(s string) string { return applySecret + s }),
			"fromConfig": token,
		}, &r)
	}, cfg)

	data, err := res.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var summary bytes.Buffer
	res.Summary(&summary)
	for _, out := range []string{string(data), summary.String()} {
		for _, secret := range []string{topSecret, nestedSecret, applySecret, "placeholder-token-value"} {
			if strings.Contains(out, secret) {
				t.Errorf("%q appears in output:\n%s", secret, out)
			}
		}
	}
	r := mustGet(t, res, "aws:secretsmanager/secretVersion:SecretVersion", "v")
	for path, want := range map[string]interface{}{
		"secretString":   SecretValue,
		"nested.plain":   "visible",
		"nested.secret":  SecretValue,
		"nested.list[0]": "ok",
		"nested.list[1]": SecretValue,
		"fromApply":      SecretValue,
		"fromConfig":     SecretValue,
	} {
		if got, _ := r.Input(path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings = %v", res.Warnings)
	}
}

func TestSecretConfigUsedInPlainTextIsReported(t *testing.T) {
	cfg := testStack()
	cfg.Config["proj:token"] = "placeholder-token-value"
	cfg.SecretKeys = []string{"proj:token"}
	cfg.Placeholders = map[string]string{"proj:token": "placeholder-token-value"}
	res := mustRun(t, func(ctx *pulumi.Context) error {
		var r custom
		return ctx.RegisterResource("aws:ssm/parameter:Parameter", "p", pulumi.Map{
			"value": pulumi.String("Basic " + require(ctx, "token")),
		}, &r)
	}, cfg)
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "proj:token") ||
		!strings.Contains(res.Warnings[0], `"p"`) || !strings.Contains(res.Warnings[0], "input value") {
		t.Errorf("warnings = %v", res.Warnings)
	}
}

func TestRunReturnsTheProgramsError(t *testing.T) {
	sentinel := errors.New("stack dev: vpcCidr is not a CIDR")
	res, err := Run(func(ctx *pulumi.Context) error {
		var r custom
		if err := ctx.RegisterResource("aws:s3/bucketV2:BucketV2", "b", pulumi.Map{}, &r); err != nil {
			return err
		}
		return sentinel
	}, testStack())
	if err != sentinel {
		t.Fatalf("err = %#v, want the program's own error", err)
	}
	if res == nil || len(res.Resources) != 1 {
		t.Errorf("want what was registered before the error, got %+v", res)
	}
	if got, want := PreviewMessage(err, true),
		"error: an unhandled error occurred: program failed:\n1 error occurred:\n\t* stack dev: vpcCidr is not a CIDR"; got != want {
		t.Errorf("PreviewMessage = %q\nwant %q", got, want)
	}
}

func TestRunReportsPanicsLikeConfigRequire(t *testing.T) {
	_, err := Run(func(ctx *pulumi.Context) error {
		require(ctx, "missing")
		return nil
	}, testStack())
	var p *PanicError
	if !errors.As(err, &p) {
		t.Fatalf("err = %v, want a PanicError", err)
	}
	want := "Missing required configuration variable 'proj:missing'\n\tplease set a value using the command `pulumi config set proj:missing <value>`"
	if err.Error() != want {
		t.Errorf("err = %q\nwant %q", err, want)
	}
	if msg := PreviewMessage(err, false); !strings.HasPrefix(msg, "panic: "+want) {
		t.Errorf("PreviewMessage = %q", msg)
	}
}

func TestUnknownInvokeFailsNamingTheToken(t *testing.T) {
	var got struct{}
	_, err := Run(func(ctx *pulumi.Context) error {
		return ctx.Invoke("aws:ec2/getVpc:getVpc", map[string]interface{}{"default": true}, &got)
	}, testStack())
	if err == nil || !strings.Contains(err.Error(), "aws:ec2/getVpc:getVpc") {
		t.Errorf("err = %v, want one naming the invoke", err)
	}
}

func TestInvokeMocks(t *testing.T) {
	var (
		identity struct {
			AccountID string `pulumi:"accountId"`
		}
		regionDefault, regionProvider struct {
			Name string `pulumi:"name"`
		}
		zone struct {
			ZoneID string `pulumi:"zoneId"`
			Name   string `pulumi:"name"`
		}
		elb struct {
			Arn string `pulumi:"arn"`
		}
		rts struct {
			IDs []string `pulumi:"ids"`
		}
	)
	mustRun(t, func(ctx *pulumi.Context) error {
		var west provider
		if err := ctx.RegisterResource("pulumi:providers:aws", "west", pulumi.Map{"region": pulumi.String("eu-west-1")}, &west); err != nil {
			return err
		}
		for _, call := range []struct {
			tok  string
			args map[string]interface{}
			out  interface{}
			opts []pulumi.InvokeOption
		}{
			{"aws:index/getCallerIdentity:getCallerIdentity", nil, &identity, nil},
			{"aws:index/getRegion:getRegion", nil, &regionDefault, nil},
			{"aws:index/getRegion:getRegion", nil, &regionProvider, []pulumi.InvokeOption{pulumi.Provider(&west)}},
			{"aws:route53/getZone:getZone", map[string]interface{}{"name": "example.org."}, &zone, nil},
			{"aws:elb/getServiceAccount:getServiceAccount", nil, &elb, nil},
			{"aws:ec2/getRouteTables:getRouteTables", map[string]interface{}{"vpcId": "vpc-1"}, &rts, nil},
		} {
			if err := ctx.Invoke(call.tok, call.args, call.out, call.opts...); err != nil {
				return fmt.Errorf("%s: %w", call.tok, err)
			}
		}
		return nil
	}, testStack())
	if identity.AccountID != MockAccountID {
		t.Errorf("accountId = %q", identity.AccountID)
	}
	if regionDefault.Name != "us-east-1" || regionProvider.Name != "eu-west-1" {
		t.Errorf("regions = %q, %q", regionDefault.Name, regionProvider.Name)
	}
	if zone.Name != "example.org" || !strings.HasPrefix(zone.ZoneID, "Z") {
		t.Errorf("zone = %+v", zone)
	}
	if elb.Arn != "arn:aws:iam::127311923021:root" {
		t.Errorf("elb = %+v", elb)
	}
	if len(rts.IDs) != 2 || rts.IDs[0] == rts.IDs[1] {
		t.Errorf("route tables = %v", rts.IDs)
	}
}

func TestResourceMocks(t *testing.T) {
	type outputs struct {
		pulumi.CustomResourceState
		RepositoryURL pulumi.StringOutput   `pulumi:"repositoryUrl"`
		DNSName       pulumi.StringOutput   `pulumi:"dnsName"`
		ArnSuffix     pulumi.StringOutput   `pulumi:"arnSuffix"`
		Arn           pulumi.StringOutput   `pulumi:"arn"`
		RepoDigest    pulumi.StringOutput   `pulumi:"repoDigest"`
		Base64        pulumi.StringOutput   `pulumi:"base64"`
		Result        pulumi.StringOutput   `pulumi:"result"`
		DVOs          pulumi.MapArrayOutput `pulumi:"domainValidationOptions"`
	}
	var mu sync.Mutex // applies run concurrently
	got := map[string]string{}
	set := func(key, v string) {
		mu.Lock()
		defer mu.Unlock()
		got[key] = v
	}
	capture := func(key string, o pulumi.StringOutput) {
		o.ApplyT(func(s string) string { set(key, s); return s })
	}
	res := mustRun(t, func(ctx *pulumi.Context) error {
		reg := func(typ, name string, in pulumi.Map, opts ...pulumi.ResourceOption) *outputs {
			var o outputs
			if err := ctx.RegisterResource(typ, name, in, &o, opts...); err != nil {
				panic(err)
			}
			return &o
		}
		repo := reg("aws:ecr/repository:Repository", "registry", pulumi.Map{"name": pulumi.String("synapse/registry")})
		capture("repositoryUrl", repo.RepositoryURL)
		lb := reg("aws:lb/loadBalancer:LoadBalancer", "alb", pulumi.Map{})
		capture("dnsName", lb.DNSName)
		capture("lbSuffix", lb.ArnSuffix)
		tg := reg("aws:lb/targetGroup:TargetGroup", "tg", pulumi.Map{})
		capture("tgSuffix", tg.ArnSuffix)
		sec := reg("aws:secretsmanager/secret:Secret", "registry", pulumi.Map{})
		capture("secretArn", sec.Arn)
		lg := reg("aws:cloudwatch/logGroup:LogGroup", "registry", pulumi.Map{"name": pulumi.String("/ecs/registry")})
		capture("logArn", lg.Arn)
		img := reg("docker:index/image:Image", "image", pulumi.Map{
			"imageName": repo.RepositoryURL.ApplyT(func(u string) string { return u + ":latest" }),
		})
		capture("repoDigest", img.RepoDigest)
		// The SDK asks the engine to keep these secret; the mocks must too.
		rb := reg("random:index/randomBytes:RandomBytes", "http", pulumi.Map{"length": pulumi.Int(32)},
			pulumi.AdditionalSecretOutputs([]string{"base64", "hex"}))
		capture("base64", rb.Base64)
		// Feeding it to another resource shows it redacted.
		reg("aws:ssm/parameter:Parameter", "p", pulumi.Map{"value": rb.Base64})
		cert := reg("aws:acm/certificate:Certificate", "cert", pulumi.Map{"domainName": pulumi.String("docker.example.org")})
		cert.DVOs.ApplyT(func(d []map[string]interface{}) int {
			if len(d) == 1 {
				typ, _ := d[0]["resourceRecordType"].(string)
				domain, _ := d[0]["domainName"].(string)
				set("dvoType", typ)
				set("dvoDomain", domain)
			}
			return len(d)
		})
		return nil
	}, testStack())

	for k, want := range map[string]string{
		"repositoryUrl": "123456789012.dkr.ecr.us-east-1.amazonaws.com/synapse/registry",
		"dvoType":       "CNAME",
		"dvoDomain":     "docker.example.org",
		"logArn":        "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/registry",
	} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
	for k, prefix := range map[string]string{
		"dnsName":    "alb-",
		"lbSuffix":   "app/alb/",
		"tgSuffix":   "targetgroup/tg/",
		"secretArn":  "arn:aws:secretsmanager:us-east-1:123456789012:secret:registry-",
		"repoDigest": "123456789012.dkr.ecr.us-east-1.amazonaws.com/synapse/registry@sha256:",
	} {
		if !strings.HasPrefix(got[k], prefix) {
			t.Errorf("%s = %q, want prefix %q", k, got[k], prefix)
		}
	}
	if n := len(got["secretArn"]) - len("arn:aws:secretsmanager:us-east-1:123456789012:secret:registry-"); n != 6 {
		t.Errorf("secret arn suffix has %d characters: %s", n, got["secretArn"])
	}
	if n := len(strings.TrimPrefix(got["repoDigest"], "123456789012.dkr.ecr.us-east-1.amazonaws.com/synapse/registry@sha256:")); n != 64 {
		t.Errorf("digest has %d hex digits", n)
	}
	if len(got["base64"]) != 44 {
		t.Errorf("base64 of 32 bytes = %q", got["base64"])
	}
	p := mustGet(t, res, "aws:ssm/parameter:Parameter", "p")
	if p.Inputs["value"] != SecretValue {
		t.Errorf("a secret output (additionalSecretOutputs) reached an input in plain text: %v", p.Inputs["value"])
	}
}

func TestDuplicateURNFails(t *testing.T) {
	_, err := Run(func(ctx *pulumi.Context) error {
		var a, b custom
		if err := ctx.RegisterResource("aws:s3/bucketV2:BucketV2", "same", pulumi.Map{}, &a); err != nil {
			return err
		}
		return ctx.RegisterResource("aws:s3/bucketV2:BucketV2", "same", pulumi.Map{}, &b)
	}, testStack())
	if err == nil || !strings.Contains(err.Error(), "Duplicate resource URN") {
		t.Errorf("err = %v", err)
	}
}

func TestCustomMocks(t *testing.T) {
	var out struct {
		Value string `pulumi:"value"`
	}
	mustRun(t, func(ctx *pulumi.Context) error {
		return ctx.Invoke("aws:ssm/getParameter:getParameter", map[string]interface{}{"name": "x"}, &out)
	}, testStack(), WithInvokeMock("aws:ssm/getParameter:getParameter", func(c MockCall) (resource.PropertyMap, error) {
		return resource.PropertyMap{"value": resource.NewStringProperty("param-" + c.Arg("name"))}, nil
	}))
	if out.Value != "param-x" {
		t.Errorf("value = %q", out.Value)
	}
}

func TestSummary(t *testing.T) {
	var buf bytes.Buffer
	mustRun(t, sampleProgram, testStack()).Summary(&buf)
	out := buf.String()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 1+15 {
		t.Errorf("%d lines, want a header and one per resource:\n%s", len(lines), out)
	}
	for _, want := range []string{
		"stack dev: 15 resources",
		"  aws:s3:BucketV2  ",
		"bucket=images.example.org",
		"protect",
		"retentionInDays=30",
		"import=existing-logs",
		"ingress=[tcp/443@0.0.0.0/0]",
		"region=us-west-2",
		"cidrBlock=10.0.0.0/24",
		"natGateways=Single", // a labelled nested setting
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func TestProjectDirectoryIsRecordedRelative(t *testing.T) {
	cfg := testStack()
	cfg.Dir = "/home/someone/src/registry"
	res := mustRun(t, func(ctx *pulumi.Context) error {
		root := ctx.RootDirectory() // absolute, as under the CLI
		var img custom
		return ctx.RegisterResource("docker:index/image:Image", "image", pulumi.Map{
			"imageName": pulumi.String("example.org/registry:1"),
			"build": pulumi.Map{
				"context":    pulumi.String(root),
				"dockerfile": pulumi.String(root + "/image/Dockerfile"),
			},
		}, &img)
	}, cfg)
	img := mustGet(t, res, "docker:index/image:Image", "image")
	if got := img.InputString("build.context"); got != "." {
		t.Errorf("context = %q", got)
	}
	if got := img.InputString("build.dockerfile"); got != "./image/Dockerfile" {
		t.Errorf("dockerfile = %q", got)
	}
}
