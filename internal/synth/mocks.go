package synth

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Fake account and defaults the mocks answer with.
const (
	MockAccountID = "123456789012"
	MockRegion    = "us-east-1"
	// ELB's service account in us-east-1 (what aws.elb.getServiceAccount returns there).
	mockELBAccountID = "127311923021"
)

// MockResource is what a resource mock sees and fills in. Before the mock
// runs, ID holds a deterministic id derived from type and name (empty for
// component resources) and Outputs holds the inputs plus, for AWS resources,
// id, arn and name.
type MockResource struct {
	Type   string
	Name   string
	Inputs resource.PropertyMap // as the program registered them; secrets stay wrapped
	Custom bool
	Remote bool // a remote (provider-implemented) component such as awsx:ec2:Vpc
	// Region is the region of the resource's AWS provider (its "region"
	// input), else the stack's aws:region, else us-east-1.
	Region  string
	Account string

	ID      string
	Outputs resource.PropertyMap
}

// In returns the input's string value, or "" (secrets are unwrapped).
func (r *MockResource) In(key string) string { return str(r.Inputs[resource.PropertyKey(key)]) }

// Set stores an output; v is a Go value (string, float64, bool, []interface{},
// map[string]interface{}) or a resource.PropertyValue.
func (r *MockResource) Set(key string, v interface{}) { r.Outputs[resource.PropertyKey(key)] = pv(v) }

// SetDefault stores an output unless the resource already has a value for it.
func (r *MockResource) SetDefault(key string, v interface{}) {
	if cur, ok := r.Outputs[resource.PropertyKey(key)]; !ok || cur.IsNull() {
		r.Set(key, v)
	}
}

// Hex returns n deterministic hex digits derived from the resource's type,
// name and the given salt.
func (r *MockResource) Hex(n int, salt ...string) string {
	return fakeHex(n, append([]string{r.Type, r.Name}, salt...)...)
}

// MockCall is what an invoke (or method call) mock sees.
type MockCall struct {
	Token   string
	Args    resource.PropertyMap
	Region  string // of the provider used, as for MockResource
	Account string
}

// Arg returns the argument's string value, or "".
func (c MockCall) Arg(key string) string { return str(c.Args[resource.PropertyKey(key)]) }

// ResourceMockFunc adjusts a MockResource's ID and Outputs.
type ResourceMockFunc func(r *MockResource) error

// InvokeMockFunc answers an invoke.
type InvokeMockFunc func(c MockCall) (resource.PropertyMap, error)

// Mocks are the tables the mock monitor consults, keyed by type token. A
// resource type without an entry gets the generic behaviour (outputs =
// inputs, plus id/arn/name for AWS); an invoke or method without an entry
// fails, naming its token, so a new data source cannot go unnoticed.
type Mocks struct {
	Resources map[string]ResourceMockFunc
	Invokes   map[string]InvokeMockFunc
	Methods   map[string]InvokeMockFunc
}

// DefaultMocks returns a fresh copy of the built-in tables; change it freely.
func DefaultMocks() *Mocks {
	m := &Mocks{
		Resources: map[string]ResourceMockFunc{},
		Invokes:   map[string]InvokeMockFunc{},
		Methods:   map[string]InvokeMockFunc{},
	}
	for k, v := range builtinResources {
		m.Resources[k] = v
	}
	for k, v := range builtinInvokes {
		m.Invokes[k] = v
	}
	return m
}

var builtinResources = map[string]ResourceMockFunc{
	"aws:s3/bucketV2:BucketV2":              mockBucket,
	"aws:s3/bucket:Bucket":                  mockBucket,
	"aws:ecr/repository:Repository":         mockECRRepository,
	"aws:sqs/queue:Queue":                   mockSQSQueue,
	"aws:lb/loadBalancer:LoadBalancer":      mockLoadBalancer,
	"aws:alb/loadBalancer:LoadBalancer":     mockLoadBalancer,
	"aws:lb/targetGroup:TargetGroup":        mockTargetGroup,
	"aws:alb/targetGroup:TargetGroup":       mockTargetGroup,
	"aws:lb/listener:Listener":              mockListener,
	"aws:alb/listener:Listener":             mockListener,
	"aws:acm/certificate:Certificate":       mockCertificate,
	"aws:ecs/cluster:Cluster":               mockECSCluster,
	"aws:ecs/service:Service":               mockECSService,
	"aws:ecs/taskDefinition:TaskDefinition": mockTaskDefinition,
	"aws:cloudwatch/logGroup:LogGroup":      mockLogGroup,
	"aws:iam/role:Role":                     mockIAMRole,
	"aws:iam/policy:Policy":                 mockIAMPolicy,
	"aws:secretsmanager/secret:Secret":      mockSecret,
	"aws:secretsmanager/secretVersion:SecretVersion": func(r *MockResource) error {
		version := fakeUUID(r.Type, r.Name)
		r.ID = r.In("secretId") + "|" + version
		r.Set("id", r.ID)
		r.Set("arn", r.In("secretId"))
		r.Set("versionId", version)
		r.Set("versionStages", []interface{}{"AWSCURRENT"})
		return nil
	},
	"aws:ec2/securityGroup:SecurityGroup": func(r *MockResource) error {
		r.ID = "sg-" + r.Hex(17)
		r.Set("id", r.ID)
		r.Set("arn", fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", r.Region, r.Account, r.ID))
		r.Set("ownerId", r.Account)
		return nil
	},
	"aws:route53/record:Record": func(r *MockResource) error {
		r.SetDefault("fqdn", strings.TrimSuffix(r.In("name"), "."))
		r.ID = r.In("zoneId") + "_" + r.In("name") + "_" + r.In("type")
		r.Set("id", r.ID)
		return nil
	},
	"random:index/randomBytes:RandomBytes": func(r *MockResource) error {
		b := fakeBytes(intIn(r.Inputs, "length", 32), r.Type, r.Name)
		r.Set("base64", base64.StdEncoding.EncodeToString(b))
		r.Set("hex", hex.EncodeToString(b))
		return nil
	},
	"random:index/randomPassword:RandomPassword": func(r *MockResource) error {
		result := fakeString(intIn(r.Inputs, "length", 16), r.Type, r.Name)
		r.ID = "none"
		r.Set("result", result)
		r.Set("bcryptHash", "$2a$10$"+fakeString(53, "bcrypt", r.Type, r.Name))
		return nil
	},
	"random:index/randomString:RandomString": func(r *MockResource) error {
		r.Set("result", fakeString(intIn(r.Inputs, "length", 16), r.Type, r.Name))
		return nil
	},
	"random:index/randomId:RandomId": func(r *MockResource) error {
		b := fakeBytes(intIn(r.Inputs, "byteLength", 8), r.Type, r.Name)
		r.Set("hex", hex.EncodeToString(b))
		r.Set("b64Std", base64.StdEncoding.EncodeToString(b))
		r.Set("b64Url", base64.RawURLEncoding.EncodeToString(b))
		r.Set("dec", new(big.Int).SetBytes(b).String())
		return nil
	},
	"random:index/randomUuid:RandomUuid": func(r *MockResource) error {
		r.Set("result", fakeUUID(r.Type, r.Name))
		return nil
	},
	"docker:index/image:Image": func(r *MockResource) error {
		name := r.In("imageName")
		repo := name
		// Strip a tag, not a registry port: the tag follows the last '/'.
		if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
			repo = name[:i]
		}
		digest := repo + "@sha256:" + r.Hex(64)
		r.ID = digest
		r.SetDefault("imageName", name)
		r.Set("baseImageName", name)
		r.Set("repoDigest", digest)
		if host, _, ok := strings.Cut(repo, "/"); ok && strings.ContainsAny(host, ".:") {
			r.Set("registryServer", host)
		}
		return nil
	},
	"aws:ec2/vpc:Vpc":                                     mockEC2ID("vpc"),
	"aws:ec2/subnet:Subnet":                               mockEC2ID("subnet"),
	"aws:ec2/routeTable:RouteTable":                       mockEC2ID("rtb"),
	"aws:ec2/internetGateway:InternetGateway":             mockEC2ID("igw"),
	"aws:ec2/natGateway:NatGateway":                       mockEC2ID("nat"),
	"aws:ec2/eip:Eip":                                     mockEC2ID("eipalloc"),
	"aws:ec2/routeTableAssociation:RouteTableAssociation": mockEC2ID("rtbassoc"),
	"aws:ec2/vpcEndpoint:VpcEndpoint":                     mockEC2ID("vpce"),
	"awsx:ec2:Vpc": func(r *MockResource) error {
		subnets := func(kind string) []interface{} {
			return []interface{}{"subnet-" + r.Hex(17, kind, "a"), "subnet-" + r.Hex(17, kind, "b")}
		}
		r.Set("vpcId", "vpc-"+r.Hex(17))
		r.Set("publicSubnetIds", subnets("public"))
		r.Set("privateSubnetIds", subnets("private"))
		r.Set("isolatedSubnetIds", []interface{}{})
		return nil
	},
	"pulumi:pulumi:StackReference": func(r *MockResource) error {
		r.Set("outputs", map[string]interface{}{})
		r.Set("secretOutputNames", []interface{}{})
		return nil
	},
}

var builtinInvokes = map[string]InvokeMockFunc{
	"aws:index/getCallerIdentity:getCallerIdentity": func(c MockCall) (resource.PropertyMap, error) {
		return props(map[string]interface{}{
			"accountId": c.Account,
			"arn":       "arn:aws:iam::" + c.Account + ":user/synth",
			"userId":    "AIDA" + strings.ToUpper(fakeHex(17, "user")),
			"id":        c.Account,
		}), nil
	},
	"aws:index/getRegion:getRegion": func(c MockCall) (resource.PropertyMap, error) {
		name := c.Region
		if n := c.Arg("name"); n != "" {
			name = n
		} else if n := c.Arg("region"); n != "" {
			name = n
		}
		return props(map[string]interface{}{
			"name":        name,
			"region":      name,
			"id":          name,
			"description": "Mock region " + name,
			"endpoint":    "ec2." + name + ".amazonaws.com",
		}), nil
	},
	"aws:index/getPartition:getPartition": func(c MockCall) (resource.PropertyMap, error) {
		return props(map[string]interface{}{
			"partition":        "aws",
			"dnsSuffix":        "amazonaws.com",
			"reverseDnsPrefix": "com.amazonaws",
			"id":               "aws",
		}), nil
	},
	"aws:index/getAvailabilityZones:getAvailabilityZones": func(c MockCall) (resource.PropertyMap, error) {
		var names, ids []interface{}
		for i, s := range []string{"a", "b", "c"} {
			names = append(names, c.Region+s)
			ids = append(ids, fmt.Sprintf("%s-az%d", regionShort(c.Region), i+1))
		}
		return props(map[string]interface{}{
			"names":      names,
			"zoneIds":    ids,
			"groupNames": []interface{}{c.Region},
			"id":         c.Region,
		}), nil
	},
	"aws:ec2/getRouteTables:getRouteTables": func(c MockCall) (resource.PropertyMap, error) {
		seed := canonical(c.Args)
		return props(map[string]interface{}{
			"ids": []interface{}{"rtb-" + fakeHex(17, seed, "1"), "rtb-" + fakeHex(17, seed, "2")},
			"id":  c.Region,
		}), nil
	},
	"aws:route53/getZone:getZone": func(c MockCall) (resource.PropertyMap, error) {
		name := strings.TrimSuffix(c.Arg("name"), ".")
		id := c.Arg("zoneId")
		if id == "" {
			id = "Z" + strings.ToUpper(fakeHex(20, "zone", name))
		}
		if name == "" {
			name = "zone-" + strings.ToLower(id) + ".example.com"
		}
		return props(map[string]interface{}{
			"zoneId":                 id,
			"id":                     id,
			"name":                   name,
			"arn":                    "arn:aws:route53:::hostedzone/" + id,
			"privateZone":            c.Args["privateZone"].IsBool() && c.Args["privateZone"].BoolValue(),
			"nameServers":            []interface{}{"ns-1.awsdns-01.org", "ns-2.awsdns-02.com"},
			"resourceRecordSetCount": 2.0,
		}), nil
	},
	"aws:s3/getBucket:getBucket": func(c MockCall) (resource.PropertyMap, error) {
		b := c.Arg("bucket")
		return props(map[string]interface{}{
			"bucket":                   b,
			"id":                       b,
			"arn":                      "arn:aws:s3:::" + b,
			"region":                   c.Region,
			"bucketDomainName":         b + ".s3.amazonaws.com",
			"bucketRegionalDomainName": b + ".s3." + c.Region + ".amazonaws.com",
			"hostedZoneId":             "Z3AQBSTGFYJSTF",
		}), nil
	},
	"aws:ecr/getAuthorizationToken:getAuthorizationToken": func(c MockCall) (resource.PropertyMap, error) {
		password := "synth-ecr-password-" + fakeHex(24, "ecr", c.Account)
		out := props(map[string]interface{}{
			"userName":      "AWS",
			"proxyEndpoint": "https://" + c.Account + ".dkr.ecr." + c.Region + ".amazonaws.com",
			"expiresAt":     "2000-01-01T12:00:00Z",
			"id":            c.Region,
		})
		out["password"] = resource.MakeSecret(resource.NewStringProperty(password))
		out["authorizationToken"] = resource.MakeSecret(resource.NewStringProperty(
			base64.StdEncoding.EncodeToString([]byte("AWS:" + password))))
		return out, nil
	},
	"aws:elb/getServiceAccount:getServiceAccount": func(c MockCall) (resource.PropertyMap, error) {
		return props(map[string]interface{}{
			"arn": "arn:aws:iam::" + mockELBAccountID + ":root",
			"id":  mockELBAccountID,
		}), nil
	},
}

func mockBucket(r *MockResource) error {
	bucket := r.In("bucket")
	if bucket == "" {
		if p := r.In("bucketPrefix"); p != "" {
			bucket = p + fakeDigits(26, r.Type, r.Name)
		} else {
			bucket = r.Name
		}
	}
	r.ID = bucket
	r.Set("id", bucket)
	r.Set("bucket", bucket)
	r.Set("arn", "arn:aws:s3:::"+bucket)
	r.Set("bucketDomainName", bucket+".s3.amazonaws.com")
	r.Set("bucketRegionalDomainName", bucket+".s3."+r.Region+".amazonaws.com")
	r.Set("region", r.Region)
	r.Set("hostedZoneId", "Z3AQBSTGFYJSTF")
	return nil
}

func mockECRRepository(r *MockResource) error {
	name := nameOf(r)
	r.ID = name
	r.Set("id", name)
	r.Set("arn", fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", r.Region, r.Account, name))
	r.Set("registryId", r.Account)
	r.Set("repositoryUrl", fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", r.Account, r.Region, name))
	return nil
}

// mockSQSQueue: SQS's id is the queue URL; the ARN names the queue.
func mockSQSQueue(r *MockResource) error {
	name := nameOf(r)
	url := fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", r.Region, r.Account, name)
	r.ID = url
	r.Set("id", url)
	r.Set("url", url)
	r.Set("name", name)
	r.Set("arn", fmt.Sprintf("arn:aws:sqs:%s:%s:%s", r.Region, r.Account, name))
	return nil
}

func mockLoadBalancer(r *MockResource) error {
	name := nameOf(r)
	kind := "app"
	if t := r.In("loadBalancerType"); t == "network" {
		kind = "net"
	} else if t == "gateway" {
		kind = "gwy"
	}
	suffix := fmt.Sprintf("%s/%s/%s", kind, name, r.Hex(16))
	arn := fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:loadbalancer/%s", r.Region, r.Account, suffix)
	dns := fmt.Sprintf("%s-%s.%s.elb.amazonaws.com", name, fakeDigits(10, r.Type, r.Name), r.Region)
	if b := r.Inputs["internal"]; b.IsBool() && b.BoolValue() {
		dns = "internal-" + dns
	}
	r.ID = arn
	r.Set("id", arn)
	r.Set("arn", arn)
	r.Set("arnSuffix", suffix)
	r.Set("dnsName", dns)
	r.Set("zoneId", "Z35SXDOTRQ7X7K") // ALB hosted zone of us-east-1
	r.SetDefault("vpcId", "vpc-"+r.Hex(17, "vpc"))
	return nil
}

func mockTargetGroup(r *MockResource) error {
	name := nameOf(r)
	suffix := fmt.Sprintf("targetgroup/%s/%s", name, r.Hex(16))
	arn := fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:%s", r.Region, r.Account, suffix)
	r.ID = arn
	r.Set("id", arn)
	r.Set("arn", arn)
	r.Set("arnSuffix", suffix)
	return nil
}

func mockListener(r *MockResource) error {
	arn := fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:listener/app/%s/%s/%s",
		r.Region, r.Account, r.Name, r.Hex(16, "lb"), r.Hex(16))
	r.ID = arn
	r.Set("id", arn)
	r.Set("arn", arn)
	return nil
}

func mockCertificate(r *MockResource) error {
	arn := fmt.Sprintf("arn:aws:acm:%s:%s:certificate/%s", r.Region, r.Account, fakeUUID(r.Type, r.Name))
	r.ID = arn
	r.Set("id", arn)
	r.Set("arn", arn)
	r.Set("status", "PENDING_VALIDATION")
	// One validation record per distinct name, the certificate's own first.
	names := []string{}
	seen := map[string]bool{}
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	add(r.In("domainName"))
	if sans := r.Inputs["subjectAlternativeNames"]; sans.IsArray() {
		for _, v := range sans.ArrayValue() {
			add(str(v))
		}
	}
	var dvos []interface{}
	for _, n := range names {
		base := strings.TrimPrefix(n, "*.")
		dvos = append(dvos, map[string]interface{}{
			"domainName":          n,
			"resourceRecordName":  "_" + fakeHex(32, "dvo-name", n) + "." + base + ".",
			"resourceRecordType":  "CNAME",
			"resourceRecordValue": "_" + fakeHex(32, "dvo-value", n) + ".acm-validations.aws.",
		})
	}
	r.Set("domainValidationOptions", dvos)
	return nil
}

func mockECSCluster(r *MockResource) error {
	name := nameOf(r)
	arn := fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", r.Region, r.Account, name)
	r.ID = arn
	r.Set("id", arn)
	r.Set("arn", arn)
	return nil
}

func mockECSService(r *MockResource) error {
	name := nameOf(r)
	cluster := r.In("cluster")
	cluster = cluster[strings.LastIndex(cluster, "/")+1:]
	if cluster == "" {
		cluster = "default"
	}
	arn := fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", r.Region, r.Account, cluster, name)
	r.ID = arn
	r.Set("id", arn)
	r.Set("arn", arn)
	return nil
}

func mockTaskDefinition(r *MockResource) error {
	family := r.In("family")
	if family == "" {
		family = r.Name
	}
	base := fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s", r.Region, r.Account, family)
	r.ID = family
	r.Set("id", family)
	r.Set("arn", base+":1")
	r.Set("arnWithoutRevision", base)
	r.Set("revision", 1.0)
	return nil
}

// mockEC2ID gives an EC2 resource an id in AWS's form, <prefix>-<17 hex digits>, so wiring reads
// as it would in AWS (a subnet id where a subnet id belongs).
func mockEC2ID(prefix string) ResourceMockFunc {
	return func(r *MockResource) error {
		r.ID = prefix + "-" + r.Hex(17)
		r.Set("id", r.ID)
		return nil
	}
}

func mockLogGroup(r *MockResource) error {
	name := nameOf(r)
	r.ID = name
	r.Set("id", name)
	r.Set("arn", fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", r.Region, r.Account, name))
	return nil
}

func mockIAMRole(r *MockResource) error {
	name := nameOf(r)
	path := r.In("path")
	if path == "" {
		path = "/"
	}
	r.ID = name
	r.Set("id", name)
	r.Set("arn", fmt.Sprintf("arn:aws:iam::%s:role%s%s", r.Account, path, name))
	r.Set("uniqueId", "AROA"+strings.ToUpper(r.Hex(17)))
	return nil
}

func mockIAMPolicy(r *MockResource) error {
	name := nameOf(r)
	path := r.In("path")
	if path == "" {
		path = "/"
	}
	arn := fmt.Sprintf("arn:aws:iam::%s:policy%s%s", r.Account, path, name)
	r.ID = arn
	r.Set("id", arn)
	r.Set("arn", arn)
	r.Set("policyId", "ANPA"+strings.ToUpper(r.Hex(17)))
	return nil
}

func mockSecret(r *MockResource) error {
	name := nameOf(r)
	arn := fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", r.Region, r.Account, name, fakeLetters(6, r.Type, r.Name))
	r.ID = arn
	r.Set("id", arn)
	r.Set("arn", arn)
	return nil
}

// genericResource fills what every resource gets before its table entry runs.
func genericResource(r *MockResource) {
	r.Outputs = r.Inputs.Copy()
	if !r.Custom {
		r.ID = "" // components have no physical id
		return
	}
	if r.ID == "" {
		r.ID = r.Name + "-" + r.Hex(8)
	}
	if strings.HasPrefix(r.Type, "pulumi:providers:") {
		return // providers' outputs are their inputs
	}
	r.Set("id", r.ID)
	if strings.HasPrefix(r.Type, "aws:") {
		r.SetDefault("name", nameOf(r))
		r.SetDefault("arn", genericARN(r))
	}
}

// nameOf is the resource's physical name: its "name" input, or its
// "namePrefix" plus a fixed suffix, or its logical name.
func nameOf(r *MockResource) string {
	if n := r.In("name"); n != "" {
		return n
	}
	if p := r.In("namePrefix"); p != "" {
		return p + fakeDigits(26, r.Type, r.Name)
	}
	return r.Name
}

// awsServices maps a pulumi-aws module to its ARN service where they differ.
var awsServices = map[string]string{
	"lb":             "elasticloadbalancing",
	"alb":            "elasticloadbalancing",
	"elb":            "elasticloadbalancing",
	"cloudwatch":     "logs",
	"vpc":            "ec2",
	"appautoscaling": "application-autoscaling",
	"cognito":        "cognito-idp",
}

// Services whose ARNs carry no region.
var globalServices = map[string]bool{"iam": true, "route53": true, "cloudfront": true, "s3": true}

// genericARN: arn:aws:<service>:<region>:<account>:<kind>/<name>, where
// <kind> is the token's resource module in kebab case (task-definition).
func genericARN(r *MockResource) string {
	parts := strings.Split(r.Type, ":") // aws, ecs/cluster, Cluster
	mod, kind := "", strings.ToLower(r.Type)
	if len(parts) == 3 {
		mod, kind, _ = strings.Cut(parts[1], "/")
		if kind == "" {
			kind = parts[2]
		}
	}
	service := mod
	if s, ok := awsServices[mod]; ok {
		service = s
	}
	region := r.Region
	if globalServices[service] {
		region = ""
	}
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s/%s", service, region, r.Account, kebab(kind), nameOf(r))
}

func kebab(s string) string {
	var b strings.Builder
	for i, c := range s {
		if c >= 'A' && c <= 'Z' {
			if i > 0 {
				b.WriteByte('-')
			}
			c += 'a' - 'A'
		}
		b.WriteRune(c)
	}
	return b.String()
}

// regionShort: us-east-1 -> use1 (as in AWS zone ids).
func regionShort(region string) string {
	parts := strings.Split(region, "-")
	if len(parts) != 3 {
		return region
	}
	return parts[0] + parts[1][:1] + parts[2]
}

// --- deterministic fakes -------------------------------------------------

func digest(parts ...string) []byte {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return h[:]
}

// fakeBytes returns n bytes derived from parts.
func fakeBytes(n int, parts ...string) []byte {
	var out []byte
	for i := 0; len(out) < n; i++ {
		out = append(out, digest(append(parts, fmt.Sprint(i))...)...)
	}
	return out[:n]
}

func fakeHex(n int, parts ...string) string {
	return hex.EncodeToString(fakeBytes((n+1)/2, parts...))[:n]
}

func fromAlphabet(alphabet string, n int, parts ...string) string {
	b := fakeBytes(n, parts...)
	out := make([]byte, n)
	for i := range b {
		out[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(out)
}

func fakeDigits(n int, parts ...string) string { return fromAlphabet("0123456789", n, parts...) }

func fakeLetters(n int, parts ...string) string {
	return fromAlphabet("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", n, parts...)
}

func fakeString(n int, parts ...string) string {
	return fromAlphabet("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", n, parts...)
}

func fakeUUID(parts ...string) string {
	h := fakeHex(32, parts...)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}

// --- property helpers ----------------------------------------------------

// str unwraps secrets and outputs and returns a string value, or "".
func str(v resource.PropertyValue) string {
	v = unwrap(v)
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}

func unwrap(v resource.PropertyValue) resource.PropertyValue {
	for {
		switch {
		case v.IsSecret():
			v = v.SecretValue().Element
		case v.IsOutput() && v.OutputValue().Known:
			v = v.OutputValue().Element
		default:
			return v
		}
	}
}

func intIn(m resource.PropertyMap, key string, def int) int {
	v := unwrap(m[resource.PropertyKey(key)])
	if v.IsNumber() && v.NumberValue() > 0 {
		return int(v.NumberValue())
	}
	return def
}

func pv(v interface{}) resource.PropertyValue {
	if p, ok := v.(resource.PropertyValue); ok {
		return p
	}
	return resource.NewPropertyValue(v)
}

func props(m map[string]interface{}) resource.PropertyMap {
	return resource.NewPropertyMapFromMap(m)
}

// canonical renders a property map as a stable string (to seed fakes).
func canonical(m resource.PropertyMap) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%v;", k, m[resource.PropertyKey(k)])
	}
	return b.String()
}
