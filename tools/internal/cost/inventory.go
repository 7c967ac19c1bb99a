package cost

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
)

// Inventory is what a design runs that AWS bills for, counted from the resources it declares.
// FromSynth builds it from the program's synth JSON; TodaysDesign builds the CDK design's.
type Inventory struct {
	// Label names the design in the report.
	Label string
	Stack string

	// AvailabilityZones the VPC spans.
	AvailabilityZones int
	// NATGateways and NATEIPs: managed NAT gateways and the Elastic IPs they hold (awsx gives
	// each of its gateways one EIP; a declared public NAT gateway holds a declared one). NATBasis says where the count comes from.
	NATGateways int
	NATEIPs     int
	NATBasis    string
	// ElasticIPs declared on their own (aws:ec2/eip:Eip).
	ElasticIPs int

	LoadBalancers []LoadBalancer
	Services      []Service
	Endpoints     []Endpoint
	// Secrets are the Secrets Manager secrets, by logical name.
	Secrets   []string
	LogGroups []LogGroup
	// InsightsClusters are the ECS clusters with Container Insights turned on.
	InsightsClusters []string
	// TargetTrackingPolicies each make Application Auto Scaling create two CloudWatch alarms.
	TargetTrackingPolicies int
	// MetricAlarms counts the metrics the stack's own CloudWatch alarms read: AWS bills a
	// standard alarm per metric, so a metric-math alarm over three metrics costs three.
	MetricAlarms int
	Repositories []Repository
	Buckets      []Bucket

	// Free counts the declared resources of types with no monthly charge of their own, by type.
	Free map[string]int
	// Unknown lists declared resources whose type this estimate does not know: not priced.
	Unknown []string
	// Notes are caveats found while counting.
	Notes []string
}

const metricAlarmType = "aws:cloudwatch/metricAlarm:MetricAlarm"

// LoadBalancer is an ELB load balancer.
type LoadBalancer struct {
	Name string
	// Type is "application" or "network".
	Type string
	// Internet is true for internet-facing load balancers.
	Internet bool
	// Nodes is the subnets (one per AZ) it has a node in; PublicIPv4 the addresses AWS bills
	// for it (one per node when internet-facing over IPv4).
	Nodes      int
	PublicIPv4 int
	// AccessLogBucket is the bucket its access logs go to ("" when off).
	AccessLogBucket string
}

// Architecture names as ECS spells them.
const (
	ArchX86 = "X86_64"
	ArchARM = "ARM64"
)

// Service is an ECS service on Fargate.
type Service struct {
	Name     string
	VCPU     float64
	MemoryGB float64
	// Arch is ArchX86 or ArchARM; OS is LINUX unless the task says otherwise.
	Arch string
	OS   string
	// Tasks is the count it runs in steady state (the scalable target's minimum, else the
	// desired count); MaxTasks its ceiling.
	Tasks    int
	MaxTasks int
	// TasksBasis says where Tasks comes from.
	TasksBasis string
	// PublicIP is true when each task gets a public IPv4 address.
	PublicIP bool
	// EphemeralGB is the task's ephemeral storage (20 GB unless the task definition asks more).
	EphemeralGB float64
	// SecretRefs is how many secrets ECS fetches for each task start.
	SecretRefs int
	// LogGroup is the awslogs group the task writes to.
	LogGroup string
}

// Endpoint is a VPC endpoint.
type Endpoint struct {
	Name string
	// Type is "Gateway" or "Interface".
	Type string
	// Service is the short service name: "s3", "logs", "execute-api", ...
	Service string
	// AZs is the number of subnets (one per AZ) an interface endpoint has a network interface in.
	AZs int
}

// LogGroup is a CloudWatch log group.
type LogGroup struct {
	Name          string
	RetentionDays int
}

// Repository is an ECR repository.
type Repository struct {
	Name string
	// KeepImages is the lifecycle policy's image count (0: no count rule found).
	KeepImages int
}

// Bucket roles.
const (
	BucketImages     = "images"
	BucketAccessLogs = "access-logs"
)

// Bucket is an S3 bucket the stack creates or adopts (an adopted bucket still costs money).
type Bucket struct {
	Name string
	// Role is BucketImages (registry data) or BucketAccessLogs (load balancer access logs).
	Role string
	// Created is false for an adopted bucket (only configured, not declared as a bucket).
	Created bool
	// Versioned buckets keep overwritten and deleted objects as noncurrent versions for
	// NoncurrentDays (0: forever).
	Versioned      bool
	NoncurrentDays int
	// ExpirationDays is the lifecycle's expiration of current objects (0: never).
	ExpirationDays int
	// Tiering is the enabled lifecycle rule, if any, that moves the bucket's current objects into
	// S3 Intelligent-Tiering (Tiering.Enabled false: every object stays in S3 Standard).
	Tiering Tiering
	// UploadData is the enabled lifecycle rule, if any, that expires the noncurrent versions of
	// the registry's deleted upload data sooner than NoncurrentDays (Rule "": none).
	UploadData UploadDataExpiration
}

// UploadDataExpiration is a lifecycle rule expiring noncurrent versions of part of a bucket that
// covers the registry's upload data: found by what it does (its prefix and size filter match an
// upload's key and a layer's size), never by its name.
type UploadDataExpiration struct {
	Rule string
	Days int
}

// uploadDataKey is where the registry writes an upload before moving it to its content address.
const uploadDataKey = registryconfig.S3RepositoriesPrefix + "syn12345/repo/_uploads/0b5d0e4f-1e0c-4b8e-9d8e-4f6d4a1b2c3d/data"

// StorageIntelligentTiering is the lifecycle storage class of S3 Intelligent-Tiering.
const StorageIntelligentTiering = "INTELLIGENT_TIERING"

// IntelligentTieringMinBytes is the size S3 Intelligent-Tiering monitors and tiers objects above
// (128 KiB); smaller objects in the class stay at the Frequent Access rate with no monitoring fee,
// and lifecycle rules do not transition them.
const IntelligentTieringMinBytes = 128 * 1024

// Tiering is a lifecycle rule transitioning a bucket's current objects to S3 Intelligent-Tiering,
// as declared: found by what the rule does (an enabled rule with a transition whose storage class
// is INTELLIGENT_TIERING over the whole bucket), never by its name.
type Tiering struct {
	Enabled bool
	// Rule is the rule's id, for the report.
	Rule string
	// MinBytes is the rule's objectSizeGreaterThan filter (0: none).
	MinBytes float64
	// Days is the transition's age in days (0: the next lifecycle run after creation).
	Days int
}

// Resource types with no monthly charge of their own: configuration, permissions, wiring, or a
// cost counted through another resource (a task definition through its service, a lifecycle
// policy through its repository or bucket, a scaling policy through the alarms it creates).
var freeTypes = map[string]string{
	"aws:acm/certificate:Certificate":                           "public ACM certificates are free",
	"aws:acm/certificateValidation:CertificateValidation":       "a waiter, no AWS resource",
	"aws:appautoscaling/target:Target":                          "free; its minimum sets the task count",
	"aws:cloudwatch/logMetricFilter:LogMetricFilter":            "free; its custom metric is billed only for the hours a relay restart publishes to it",
	"aws:appautoscaling/policy:Policy":                          "free; target tracking alarms are counted",
	"aws:ec2/securityGroup:SecurityGroup":                       "free",
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":   "free",
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "free",
	"aws:ecr/lifecyclePolicy:LifecyclePolicy":                   "free; its count sizes ECR storage",
	"aws:ecs/cluster:Cluster":                                   "free; Container Insights is counted",
	"aws:ecs/taskDefinition:TaskDefinition":                     "free; counted through its service",
	"aws:iam/role:Role":                                         "free",
	"aws:iam/rolePolicy:RolePolicy":                             "free",
	"aws:iam/policy:Policy":                                     "free",
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment":         "free",
	"aws:lb/listener:Listener":                                  "free; counted through its load balancer",
	metricAlarmType:                                             "counted as CloudWatch alarms",
	// SQS bills $0.40 per million requests after the account's first million a month: the relay's
	// long polls (3 a minute per task, about 130,000 a task-month) and a few requests per push.
	"aws:sqs/queue:Queue":                                                                        "within SQS's monthly free million requests (about 130,000 long polls per task-month, a few per push); $0.40 per further million",
	"aws:sqs/redriveAllowPolicy:RedriveAllowPolicy":                                              "free",
	"aws:lb/listenerRule:ListenerRule":                                                           "free below 10 rules per request",
	"aws:lb/targetGroup:TargetGroup":                                                             "free",
	"aws:route53/record:Record":                                                                  "no charge for records; alias queries to an ALB are free, the hosted zone is not this stack's",
	"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2":                       "free; read for the bucket's storage",
	"aws:s3/bucketOwnershipControls:BucketOwnershipControls":                                     "free",
	"aws:s3/bucketPolicy:BucketPolicy":                                                           "free",
	"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":                                     "free",
	"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": "SSE-S3 is free",
	"aws:s3/bucketVersioningV2:BucketVersioningV2":                                               "free; noncurrent versions are counted",
	"aws:secretsmanager/secretVersion:SecretVersion":                                             "free; the secret is counted",
	"docker:index/image:Image":                                                                   "built where `pulumi up` runs; its ECR storage is counted",
	"random:index/randomBytes:RandomBytes":                                                       "no cloud resource",
	"random:index/randomPassword:RandomPassword":                                                 "no cloud resource",
	"random:index/randomId:RandomId":                                                             "no cloud resource",
	"pulumi:providers:aws":                                                                       "no cloud resource",
	"aws:ec2/vpc:Vpc":                                                                            "free",
	"aws:ec2/subnet:Subnet":                                                                      "free",
	"aws:ec2/internetGateway:InternetGateway":                                                    "free",
	"aws:ec2/routeTable:RouteTable":                                                              "free",
	"aws:ec2/route:Route":                                                                        "free",
	"aws:ec2/routeTableAssociation:RouteTableAssociation":                                        "free",
	"aws:ec2/defaultSecurityGroup:DefaultSecurityGroup":                                          "free",
	"aws:cloudwatch/dashboard:Dashboard":                                                         "not priced yet: $3 a month, free for the first three dashboards of an account",
	"aws:kms/key:Key":                                                                            "not priced yet: $1 a month per key; alarm notifications use a few requests",
	"aws:sns/topic:Topic":                                                                        "free; alarm notifications are within SNS's free e-mail tier",
	"aws:sns/topicSubscription:TopicSubscription":                                                "free",
	"aws:ec2/flowLog:FlowLog":                                                                    "not priced: vended-log ingestion of one record per flow and 10-minute window, megabytes a month at this stack's connection counts",
}

// Types FromSynth prices (the others are free or unknown).
var pricedTypes = map[string]bool{
	"awsx:ec2:Vpc":                      true,
	"aws:ec2/natGateway:NatGateway":     true,
	"aws:ec2/eip:Eip":                   true,
	"aws:lb/loadBalancer:LoadBalancer":  true,
	"aws:alb/loadBalancer:LoadBalancer": true,
	"aws:ecs/service:Service":           true,
	"aws:ec2/vpcEndpoint:VpcEndpoint":   true,
	"aws:secretsmanager/secret:Secret":  true,
	"aws:cloudwatch/logGroup:LogGroup":  true,
	"aws:ecr/repository:Repository":     true,
	"aws:s3/bucketV2:BucketV2":          true,
	"aws:s3/bucket:Bucket":              true,
}

// FromSynth counts what the program's declared resources run. It never assumes a resource the
// synth JSON does not declare.
func FromSynth(s *Synth) Inventory {
	inv := Inventory{Label: "ours (" + s.Stack + ")", Stack: s.Stack, Free: map[string]int{}}
	inv.network(s)
	inv.loadBalancers(s)
	inv.services(s)
	inv.endpoints(s)
	for _, r := range s.ByType("aws:secretsmanager/secret:Secret") {
		inv.Secrets = append(inv.Secrets, r.Name)
	}
	for _, r := range s.ByType("aws:cloudwatch/logGroup:LogGroup") {
		days, _ := r.Num("retentionInDays")
		name := r.Str("name")
		if name == "" {
			name = r.Name
		}
		inv.LogGroups = append(inv.LogGroups, LogGroup{Name: name, RetentionDays: int(days)})
	}
	for _, r := range s.ByType("aws:ecs/cluster:Cluster") {
		for _, setting := range r.List("settings") {
			m, _ := setting.(map[string]interface{})
			if m["name"] == "containerInsights" && (m["value"] == "enabled" || m["value"] == "enhanced") {
				inv.InsightsClusters = append(inv.InsightsClusters, r.Name)
				if m["value"] == "enhanced" {
					inv.note("cluster %q uses Container Insights with enhanced observability: priced as standard Container Insights (per-container metrics not counted)", r.Name)
				}
			}
		}
	}
	for _, r := range s.ByType("aws:appautoscaling/policy:Policy") {
		if r.Str("policyType") == "TargetTrackingScaling" {
			inv.TargetTrackingPolicies++
		}
	}
	for _, r := range s.ByType(metricAlarmType) {
		metrics := 0
		for _, q := range r.List("metricQueries") {
			if m, ok := q.(map[string]interface{}); ok && m["metric"] != nil {
				metrics++
			}
		}
		inv.MetricAlarms += max(metrics, 1)
	}
	inv.repositories(s)
	inv.buckets(s)
	for _, r := range s.Resources {
		switch {
		case pricedTypes[r.Type]:
		case freeTypes[r.Type] != "":
			inv.Free[r.Type]++
		case r.Component && !strings.HasPrefix(r.Type, "awsx:"):
			// The program's own component resources group others; they cost nothing.
			inv.Free[r.Type]++
		default:
			inv.Unknown = append(inv.Unknown, r.Type+" "+r.Name)
		}
	}
	sort.Strings(inv.Unknown)
	return inv
}

func (inv *Inventory) note(format string, args ...interface{}) {
	inv.Notes = append(inv.Notes, fmt.Sprintf(format, args...))
}

// network counts AZs and NAT gateways. awsx:ec2:Vpc is a component whose children (subnets, NAT
// gateways, their EIPs) are created by the awsx provider, so they are counted from its inputs:
// natGateways.strategy None = 0, Single = 1, OnePerAz = one per AZ, each with one EIP.
func (inv *Inventory) network(s *Synth) {
	for _, vpc := range s.ByType("awsx:ec2:Vpc") {
		azs := 3
		if n, ok := vpc.Num("numberOfAvailabilityZones"); ok {
			azs = int(n)
		} else if l := vpc.List("availabilityZoneNames"); len(l) > 0 {
			azs = len(l)
		} else {
			inv.note("awsx:ec2:Vpc %q declares no numberOfAvailabilityZones: counted as awsx's default of 3", vpc.Name)
		}
		if azs > inv.AvailabilityZones {
			inv.AvailabilityZones = azs
		}
		strategy := vpc.Str("natGateways.strategy")
		n := 0
		switch strategy {
		case "None":
		case "Single":
			n = 1
		case "OnePerAz":
			n = azs
		default:
			n = azs
			inv.note("awsx:ec2:Vpc %q declares no known natGateways.strategy (%q): counted as one NAT gateway per AZ, the most expensive case", vpc.Name, strategy)
			strategy = "OnePerAz (assumed)"
		}
		inv.NATGateways += n
		inv.NATEIPs += n
		inv.NATBasis = fmt.Sprintf("awsx:ec2:Vpc %q natGateways.strategy %s over %d AZs", vpc.Name, strategy, azs)
	}
	// A declared public NAT gateway holds one declared EIP (its allocationId); the others stand alone.
	eips := len(s.ByType("aws:ec2/eip:Eip"))
	if nats := s.ByType("aws:ec2/natGateway:NatGateway"); len(nats) > 0 {
		held := 0
		for _, nat := range nats {
			if nat.Str("connectivityType") != "private" {
				held++
			}
		}
		held = min(held, eips)
		inv.NATGateways += len(nats)
		inv.NATEIPs += held
		eips -= held
		inv.NATBasis = strings.TrimPrefix(inv.NATBasis+fmt.Sprintf("; %d aws:ec2/natGateway:NatGateway", len(nats)), "; ")
	}
	inv.ElasticIPs = eips
	if inv.AvailabilityZones == 0 {
		inv.AvailabilityZones = len(s.ByType("aws:ec2/subnet:Subnet")) / 2
	}
}

func (inv *Inventory) loadBalancers(s *Synth) {
	lbs := append(s.ByType("aws:lb/loadBalancer:LoadBalancer"), s.ByType("aws:alb/loadBalancer:LoadBalancer")...)
	for _, r := range lbs {
		lb := LoadBalancer{Name: r.Name, Type: r.Str("loadBalancerType"), Internet: !r.Bool("internal")}
		if lb.Type == "" {
			lb.Type = "application"
		}
		lb.Nodes = inv.zonesOf(r, "load balancer", "subnets", "subnetMappings")
		ipType := r.Str("ipAddressType")
		if lb.Internet && ipType != "dualstack-without-public-ipv4" {
			lb.PublicIPv4 = lb.Nodes
		}
		if r.Bool("accessLogs.enabled") {
			lb.AccessLogBucket = r.Str("accessLogs.bucket")
		}
		if lb.Type != "application" {
			inv.note("load balancer %q is of type %q: priced at Application Load Balancer rates", r.Name, lb.Type)
		}
		inv.LoadBalancers = append(inv.LoadBalancers, lb)
	}
}

// services counts Fargate tasks: size and architecture from the service's task definition, count
// from the scalable target's minimum (autoscaling never goes below it; desiredCount is ignored
// after creation) or, without one, the desired count.
func (inv *Inventory) services(s *Synth) {
	taskDefs := s.ByType("aws:ecs/taskDefinition:TaskDefinition")
	targets := s.ByType("aws:appautoscaling/target:Target")
	for _, svc := range s.ByType("aws:ecs/service:Service") {
		if lt := svc.Str("launchType"); lt != "" && lt != "FARGATE" {
			inv.note("ECS service %q has launch type %q: only Fargate is priced", svc.Name, lt)
			continue
		}
		td, ok := taskDefinitionOf(svc, taskDefs)
		if !ok {
			inv.note("ECS service %q: its task definition is not in the synth output; not priced", svc.Name)
			continue
		}
		out := Service{Name: svc.Name, Arch: ArchX86, OS: "LINUX", EphemeralGB: 20}
		cpu, _ := td.Num("cpu")
		mem, _ := td.Num("memory")
		out.VCPU, out.MemoryGB = cpu/1024, mem/1024
		if a := td.Str("runtimePlatform.cpuArchitecture"); a != "" {
			out.Arch = a
		}
		if os := td.Str("runtimePlatform.operatingSystemFamily"); os != "" {
			out.OS = os
		}
		if out.OS != "LINUX" {
			inv.note("ECS service %q runs %s: priced at Linux rates (Windows adds a license fee per vCPU)", svc.Name, out.OS)
		}
		if gb, ok := td.Num("ephemeralStorage.sizeInGib"); ok && gb > out.EphemeralGB {
			out.EphemeralGB = gb
		}
		out.SecretRefs, out.LogGroup = containerFacts(td.Str("containerDefinitions"))
		out.PublicIP = svc.Bool("networkConfiguration.assignPublicIp")
		desired, _ := svc.Num("desiredCount")
		out.Tasks, out.MaxTasks = int(desired), int(desired)
		out.TasksBasis = fmt.Sprintf("desiredCount %d", out.Tasks)
		if t, ok := scalableTargetOf(svc, targets); ok {
			min, _ := t.Num("minCapacity")
			max, _ := t.Num("maxCapacity")
			out.Tasks, out.MaxTasks = int(min), int(max)
			out.TasksBasis = fmt.Sprintf("autoscaling minimum %d (maximum %d)", int(min), int(max))
		}
		inv.Services = append(inv.Services, out)
	}
}

var familyOfARN = regexp.MustCompile(`task-definition/([^:/]+)(:\d+)?$`)

func taskDefinitionOf(svc SynthResource, taskDefs []SynthResource) (SynthResource, bool) {
	if m := familyOfARN.FindStringSubmatch(svc.Str("taskDefinition")); m != nil {
		for _, td := range taskDefs {
			if td.Str("family") == m[1] {
				return td, true
			}
		}
	}
	if len(taskDefs) == 1 {
		return taskDefs[0], true
	}
	return SynthResource{}, false
}

func scalableTargetOf(svc SynthResource, targets []SynthResource) (SynthResource, bool) {
	var ecs []SynthResource
	for _, t := range targets {
		if t.Str("serviceNamespace") == "ecs" {
			ecs = append(ecs, t)
		}
	}
	for _, t := range ecs {
		if strings.HasSuffix(t.Str("resourceId"), "/"+svc.Name) {
			return t, true
		}
	}
	if len(ecs) == 1 {
		return ecs[0], true
	}
	return SynthResource{}, false
}

// containerFacts reads the container definitions (a JSON string): the secrets ECS fetches at
// each task start and the awslogs group.
func containerFacts(defs string) (secretRefs int, logGroup string) {
	var containers []struct {
		Secrets          []json.RawMessage `json:"secrets"`
		LogConfiguration struct {
			LogDriver string            `json:"logDriver"`
			Options   map[string]string `json:"options"`
		} `json:"logConfiguration"`
	}
	if json.Unmarshal([]byte(defs), &containers) != nil {
		return 0, ""
	}
	for _, c := range containers {
		secretRefs += len(c.Secrets)
		if c.LogConfiguration.LogDriver == "awslogs" && logGroup == "" {
			logGroup = c.LogConfiguration.Options["awslogs-group"]
		}
	}
	return secretRefs, logGroup
}

// zonesOf counts the AZs a load balancer or interface endpoint is placed in, one subnet each: the
// longer of its two subnet lists, or, when it names none, every AZ of the VPC (with a note).
func (inv *Inventory) zonesOf(r SynthResource, what, subnets, mappings string) int {
	n := max(len(r.List(subnets)), len(r.List(mappings)))
	if n == 0 {
		n = inv.AvailabilityZones
		inv.note("%s %q lists no subnets: counted in each of the %d AZs", what, r.Name, n)
	}
	return n
}

func (inv *Inventory) endpoints(s *Synth) {
	for _, r := range s.ByType("aws:ec2/vpcEndpoint:VpcEndpoint") {
		ep := Endpoint{Name: r.Name, Type: r.Str("vpcEndpointType"), Service: shortService(r.Str("serviceName"))}
		if ep.Type == "" {
			ep.Type = "Gateway" // the AWS default
		}
		if ep.Type == "Interface" {
			ep.AZs = inv.zonesOf(r, "interface endpoint", "subnetIds", "subnetConfigurations")
		}
		inv.Endpoints = append(inv.Endpoints, ep)
	}
}

// shortService turns "com.amazonaws.us-east-1.s3" into "s3".
func shortService(name string) string {
	if i := strings.Index(name, "com.amazonaws."); i >= 0 {
		rest := name[i+len("com.amazonaws."):]
		if j := strings.Index(rest, "."); j >= 0 {
			return rest[j+1:]
		}
	}
	return name
}

var countNumber = regexp.MustCompile(`"countType"\s*:\s*"imageCountMoreThan"\s*,\s*"countNumber"\s*:\s*(\d+)|"countNumber"\s*:\s*(\d+)\s*,?[^}]*"countType"\s*:\s*"imageCountMoreThan"`)

func (inv *Inventory) repositories(s *Synth) {
	policies := s.ByType("aws:ecr/lifecyclePolicy:LifecyclePolicy")
	for _, r := range s.ByType("aws:ecr/repository:Repository") {
		repo := Repository{Name: r.Name}
		for _, p := range policies {
			if p.Str("repository") != r.Name && len(policies) > 1 {
				continue
			}
			if m := countNumber.FindStringSubmatch(p.Str("policy")); m != nil {
				n := m[1] + m[2]
				fmt.Sscanf(n, "%d", &repo.KeepImages)
			}
		}
		if repo.KeepImages == 0 {
			inv.note("ECR repository %q has no image-count lifecycle rule: storage grows with every image; priced as one image", r.Name)
		}
		inv.Repositories = append(inv.Repositories, repo)
	}
}

// buckets finds every bucket the stack creates (aws:s3/bucketV2) or configures (an adopted bucket
// appears only as the `bucket` input of its configuration resources). A bucket a load balancer
// writes its access logs to has role access-logs; any other holds registry data.
func (inv *Inventory) buckets(s *Synth) {
	byName := map[string]*Bucket{}
	var order []string
	add := func(name string, created bool) *Bucket {
		if b, ok := byName[name]; ok {
			b.Created = b.Created || created
			return b
		}
		byName[name] = &Bucket{Name: name, Role: BucketImages, Created: created}
		order = append(order, name)
		return byName[name]
	}
	// A bucket created with bucketPrefix is named by AWS: prefix + a unique suffix. Its
	// configuration resources carry that name, so it is known by the first one found.
	byPrefix := map[string]string{}
	for _, t := range []string{"aws:s3/bucketV2:BucketV2", "aws:s3/bucket:Bucket"} {
		for _, r := range s.ByType(t) {
			name := r.Str("bucket")
			if name == "" {
				name = r.Name
			}
			add(name, true)
			if p := r.Str("bucketPrefix"); p != "" && r.Str("bucket") == "" {
				byPrefix[p] = name
			}
		}
	}
	physical := func(name string) string {
		for prefix, declared := range byPrefix {
			if b, ok := byName[declared]; ok && strings.HasPrefix(name, prefix) {
				delete(byName, declared)
				b.Name = name
				byName[name] = b
				order[slices.Index(order, declared)] = name
				delete(byPrefix, prefix)
				return name
			}
		}
		return name
	}
	for _, r := range s.Resources {
		if !strings.HasPrefix(r.Type, "aws:s3/bucket") || r.Type == "aws:s3/bucketV2:BucketV2" || r.Type == "aws:s3/bucket:Bucket" {
			continue
		}
		name := r.Str("bucket")
		if name == "" {
			continue
		}
		b := add(physical(name), false)
		switch r.Type {
		case "aws:s3/bucketVersioningV2:BucketVersioningV2":
			b.Versioned = r.Str("versioningConfiguration.status") == "Enabled"
		case "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2":
			for _, rule := range r.List("rules") {
				m, _ := rule.(map[string]interface{})
				if m["status"] != "Enabled" {
					continue
				}
				inv.transitions(b, m)
				if nc, ok := m["noncurrentVersionExpiration"].(map[string]interface{}); ok {
					if d, ok := nc["noncurrentDays"].(float64); ok {
						inv.noncurrentExpiration(b, m, int(d))
					}
				}
				if ex, ok := m["expiration"].(map[string]interface{}); ok {
					if d, ok := ex["days"].(float64); ok {
						b.ExpirationDays = int(d)
					}
				}
			}
		}
	}
	for _, lb := range inv.LoadBalancers {
		if b, ok := byName[lb.AccessLogBucket]; ok && lb.AccessLogBucket != "" {
			b.Role = BucketAccessLogs
		}
	}
	for _, name := range order {
		inv.Buckets = append(inv.Buckets, *byName[name])
	}
}

// transitions reads an enabled lifecycle rule's storage-class transitions. A transition of current
// objects to INTELLIGENT_TIERING over the whole bucket (no prefix or tag filter, no upper size
// bound) sets the bucket's Tiering. Anything else that moves objects out of S3 Standard is noted
// as not modelled, so the estimate never claims a saving it did not price, nor hides one.
func (inv *Inventory) transitions(b *Bucket, rule map[string]interface{}) {
	id, _ := rule["id"].(string)
	for _, tr := range listOf(rule["noncurrentVersionTransitions"]) {
		if m, ok := tr.(map[string]interface{}); ok {
			inv.note("bucket %q rule %q moves noncurrent versions to %v: not modelled, noncurrent versions are priced in S3 Standard", b.Name, id, m["storageClass"])
		}
	}
	for _, tr := range listOf(rule["transitions"]) {
		m, ok := tr.(map[string]interface{})
		if !ok {
			continue
		}
		class, _ := m["storageClass"].(string)
		if class != StorageIntelligentTiering {
			inv.note("bucket %q rule %q moves current objects to %s: not modelled, they are priced in S3 Standard", b.Name, id, class)
			continue
		}
		minBytes, maxBytes, partial := ruleScope(rule)
		if partial != "" || maxBytes > 0 {
			if maxBytes > 0 {
				partial = strings.TrimPrefix(partial+fmt.Sprintf(", objects smaller than %s bytes", FormatNumber(maxBytes)), ", ")
			}
			inv.note("bucket %q rule %q moves to Intelligent-Tiering only %s, an unknown part of the image data: not priced as tiering, the bucket stays in S3 Standard", b.Name, id, partial)
			continue
		}
		days, _ := number(m["days"])
		if _, dated := m["date"].(string); dated {
			inv.note("bucket %q rule %q transitions to Intelligent-Tiering on a date: priced as if in force", b.Name, id)
		}
		if b.Tiering.Enabled {
			inv.note("bucket %q: rules %q and %q both move objects to Intelligent-Tiering; the first is priced", b.Name, b.Tiering.Rule, id)
			continue
		}
		b.Tiering = Tiering{Enabled: true, Rule: id, MinBytes: minBytes, Days: int(days)}
	}
}

// noncurrentExpiration reads an enabled rule expiring noncurrent versions after days: over the
// whole bucket it sets NoncurrentDays; over a part that holds the registry's upload data (every
// layer pushed leaves one deleted copy there) it sets UploadData; any other part is noted as not
// modelled.
func (inv *Inventory) noncurrentExpiration(b *Bucket, rule map[string]interface{}, days int) {
	id, _ := rule["id"].(string)
	minBytes, maxBytes, partial := ruleScope(rule)
	switch {
	case partial == "" && minBytes == 0 && maxBytes == 0:
		b.NoncurrentDays = days
	case maxBytes == 0 && minBytes <= IntelligentTieringMinBytes && ruleCoversKey(rule, uploadDataKey):
		if b.UploadData.Rule == "" || days < b.UploadData.Days {
			b.UploadData = UploadDataExpiration{Rule: id, Days: days}
		}
	default:
		inv.note("bucket %q rule %q expires noncurrent versions of %s only: not modelled, priced at the bucket-wide expiration", b.Name, id, partial)
	}
}

// ruleCoversKey reports whether every prefix a lifecycle rule filters on starts key, and it filters
// on no tags.
func ruleCoversKey(rule map[string]interface{}, key string) bool {
	for _, f := range ruleFilters(rule) {
		if p, _ := f["prefix"].(string); !strings.HasPrefix(key, p) {
			return false
		}
		if f["tag"] != nil || f["tags"] != nil {
			return false
		}
	}
	return true
}

// ruleScope reads a lifecycle rule's filter: the object size bounds (0: none) and, when the rule
// covers only part of the bucket by prefix or tags, a description of that part ("" for the whole
// bucket).
func ruleScope(rule map[string]interface{}) (minBytes, maxBytes float64, partial string) {
	var parts []string
	for _, f := range ruleFilters(rule) {
		if v, ok := number(f["objectSizeGreaterThan"]); ok && v > minBytes {
			minBytes = v
		}
		if v, ok := number(f["objectSizeLessThan"]); ok && v > 0 {
			maxBytes = v
		}
		if p, _ := f["prefix"].(string); p != "" {
			parts = append(parts, fmt.Sprintf("prefix %q", p))
		}
		if f["tag"] != nil || f["tags"] != nil {
			parts = append(parts, "objects with given tags")
		}
	}
	return minBytes, maxBytes, strings.Join(parts, ", ")
}

// ruleFilters are the levels of a lifecycle rule that can narrow it: the rule itself (its legacy
// prefix), its filter and the filter's "and".
func ruleFilters(rule map[string]interface{}) []map[string]interface{} {
	levels := []map[string]interface{}{rule}
	if f, ok := rule["filter"].(map[string]interface{}); ok {
		levels = append(levels, f)
		if and, ok := f["and"].(map[string]interface{}); ok {
			levels = append(levels, and)
		}
	}
	return levels
}

func listOf(v interface{}) []interface{} {
	l, _ := v.([]interface{})
	return l
}

// number reads a JSON number or a numeric string.
func number(v interface{}) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case string:
		f, err := strconv.ParseFloat(n, 64)
		return f, err == nil
	}
	return 0, false
}

// HasS3Gateway reports whether the VPC routes S3 traffic through a gateway endpoint.
func (inv Inventory) HasS3Gateway() bool {
	for _, ep := range inv.Endpoints {
		if ep.Type == "Gateway" && ep.Service == "s3" {
			return true
		}
	}
	return false
}

// interfaceFor returns the interface endpoint for a service, if the VPC has one.
func (inv Inventory) interfaceFor(service string) (Endpoint, bool) {
	for _, ep := range inv.Endpoints {
		if ep.Type == "Interface" && ep.Service == service {
			return ep, true
		}
	}
	return Endpoint{}, false
}

// TotalTasks is the steady-state task count of all services.
func (inv Inventory) TotalTasks() int {
	n := 0
	for _, s := range inv.Services {
		n += s.Tasks
	}
	return n
}

// TodaysDesign is the CDK design deployed today, at the capacity the issue fixes: a VPC in 2 AZs
// with 2 NAT gateways, one internet-facing ALB in 2 AZs, two Linux/X86 Fargate tasks of 2 vCPU
// and 4 GB, a private API Gateway (execute-api) interface endpoint in 2 AZs, and no S3 gateway
// endpoint. What the issue does not describe — secrets, log groups and their retention,
// Container Insights, scaling alarms, the ECR repository, the buckets and their versioning, the
// ALB's access logs — is taken from ours, so the comparison shows only the design's differences.
// Ours' Intelligent-Tiering transition is the exception: today's bucket declares none, so today's
// image data is priced in S3 Standard whatever ours declares.
func TodaysDesign(ours Inventory, a Assumptions) Inventory {
	t := Inventory{
		Label:             "today's CDK design",
		Stack:             ours.Stack,
		AvailabilityZones: 2,
		NATGateways:       2,
		NATEIPs:           2,
		NATBasis:          "CDK VPC with a NAT gateway in each of 2 AZs",
		Services: []Service{{
			Name: "registry (CDK)", VCPU: 2, MemoryGB: 4, Arch: ArchX86, OS: "LINUX",
			Tasks: 2, MaxTasks: 2, TasksBasis: "two tasks, as deployed today", EphemeralGB: 20,
		}},
		Endpoints: []Endpoint{{Name: "api-gateway (CDK)", Type: "Interface", Service: "execute-api", AZs: 2}},
		Free:      map[string]int{},
	}
	lb := LoadBalancer{Name: "registry (CDK)", Type: "application", Internet: true, Nodes: 2, PublicIPv4: 2}
	for _, o := range ours.LoadBalancers {
		lb.AccessLogBucket = o.AccessLogBucket
		break
	}
	t.LoadBalancers = []LoadBalancer{lb}
	if len(ours.Services) > 0 {
		t.Services[0].SecretRefs = ours.Services[0].SecretRefs
		t.Services[0].LogGroup = ours.Services[0].LogGroup
	}
	t.Secrets = append([]string(nil), ours.Secrets...)
	t.LogGroups = append([]LogGroup(nil), ours.LogGroups...)
	t.InsightsClusters = append([]string(nil), ours.InsightsClusters...)
	t.TargetTrackingPolicies = ours.TargetTrackingPolicies
	t.Repositories = append([]Repository(nil), ours.Repositories...)
	t.Buckets = append([]Bucket(nil), ours.Buckets...)
	notOurs := ""
	for i := range t.Buckets {
		if t.Buckets[i].Tiering.Enabled {
			notOurs += fmt.Sprintf("; not ours' Intelligent-Tiering rule %q: today's bucket declares no transition, its image data stays in S3 Standard", t.Buckets[i].Tiering.Rule)
		}
		if r := t.Buckets[i].UploadData.Rule; r != "" {
			notOurs += fmt.Sprintf("; not ours' rule %q for deleted upload data: today's bucket declares none, its deleted uploads are kept as long as any noncurrent version", r)
		}
		t.Buckets[i].Tiering = Tiering{}
		t.Buckets[i].UploadData = UploadDataExpiration{}
		if t.Buckets[i].Role == BucketImages {
			days := int(math.Round(a.TodayNoncurrentDays))
			t.Buckets[i].Versioned, t.Buckets[i].NoncurrentDays = days > 0, days
			notOurs += fmt.Sprintf("; its image bucket's versioning from -today-noncurrent-days %d (0: not versioned)", days)
		}
	}
	t.Notes = []string{"taken from ours as the issue does not describe them: secrets, log groups and retention, Container Insights, scaling alarms, ECR repository, buckets (versioning, lifecycle expiration) and ALB access logs" + notOurs}
	return t
}
