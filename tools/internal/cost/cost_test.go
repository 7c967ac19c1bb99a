package cost

import (
	"bytes"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fixture loads a committed synth snapshot (infra/testdata/synth-<stack>.json), fresh each call
// so a test may change it.
func fixture(t *testing.T, stack string) *Synth {
	t.Helper()
	s, err := LoadSynth(filepath.Join("..", "..", "..", "infra", "testdata", "synth-"+stack+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Stack != stack {
		t.Fatalf("fixture of stack %q says stack %q", stack, s.Stack)
	}
	return s
}

// resource returns the declared resource to change in place.
func resource(t *testing.T, s *Synth, token, name string) *SynthResource {
	t.Helper()
	for i := range s.Resources {
		if s.Resources[i].Type == token && declaredAs(s.Resources[i], name) {
			return &s.Resources[i]
		}
	}
	t.Fatalf("the fixture declares no %s %q", token, name)
	return nil
}

func without(s *Synth, token, name string) {
	var kept []SynthResource
	for _, r := range s.Resources {
		if r.Type != token || !declaredAs(r, name) {
			kept = append(kept, r)
		}
	}
	s.Resources = kept
}

// declaredAs reports whether r is the resource declared as name: a child of the stack's
// DockerRegistry component is named after it, <component>-<name>.
func declaredAs(r SynthResource, name string) bool {
	return r.Name == name || (r.Parent != "" && r.Name == r.Parent+"-"+name)
}

func line(t *testing.T, e Estimate, key string) Line {
	t.Helper()
	l, ok := e.Line(key)
	if !ok {
		var keys []string
		for _, l := range e.Lines {
			keys = append(keys, l.Key)
		}
		t.Fatalf("%s has no line %q (lines: %v)", e.Label, key, keys)
	}
	return l
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }

func TestPriceTableIsDatedAndCited(t *testing.T) {
	date, err := time.Parse("2006-01-02", PricesAsOf)
	if err != nil {
		t.Fatalf("PricesAsOf %q is not a date: %v", PricesAsOf, err)
	}
	if date.After(time.Now().Add(24 * time.Hour)) {
		t.Errorf("PricesAsOf %s is in the future", PricesAsOf)
	}
	if PriceRegion != "us-east-1" {
		t.Errorf("PriceRegion = %q", PriceRegion)
	}
	seen := map[string]bool{}
	for _, p := range Prices {
		if seen[p.Key] {
			t.Errorf("price %q is in the table twice", p.Key)
		}
		seen[p.Key] = true
		u, err := url.Parse(p.Source)
		if err != nil || u.Scheme != "https" || u.Host != "aws.amazon.com" || !strings.Contains(u.Path, "pricing") {
			t.Errorf("price %q: source %q is not an AWS pricing page", p.Key, p.Source)
		}
		if len(p.Checked) < 20 {
			t.Errorf("price %q: Checked must say how the rate was verified (or that it was not), got %q", p.Key, p.Checked)
		}
		if p.What == "" || p.Unit == "" || p.Per <= 0 || p.USD < 0 {
			t.Errorf("price %q is incomplete: %+v", p.Key, p)
		}
	}
	// Every line of both designs is priced from the table: PriceOf panics on a missing key.
	for _, stack := range []string{"dev", "prod"} {
		r := NewReport(fixture(t, stack), "x", Defaults(stack))
		for _, e := range []Estimate{r.Comparison.Ours, r.Comparison.Today} {
			for _, l := range e.Lines {
				if l.Price != PriceOf(l.Price.Key) {
					t.Errorf("line %q does not use the table's price %q", l.Key, l.Price.Key)
				}
			}
		}
	}
}

func TestInventoryComesFromDeclaredResources(t *testing.T) {
	prod, dev := FromSynth(fixture(t, "prod")), FromSynth(fixture(t, "dev"))
	// natGateways.strategy: OnePerAz in prod, Single in dev; one EIP each.
	if prod.NATGateways != 2 || prod.NATEIPs != 2 || dev.NATGateways != 1 || dev.NATEIPs != 1 {
		t.Errorf("NAT gateways/EIPs: prod %d/%d, dev %d/%d; want 2/2 and 1/1", prod.NATGateways, prod.NATEIPs, dev.NATGateways, dev.NATEIPs)
	}
	for _, inv := range []Inventory{prod, dev} {
		if inv.AvailabilityZones != 2 {
			t.Errorf("%s: %d AZs, want 2", inv.Stack, inv.AvailabilityZones)
		}
		if len(inv.LoadBalancers) != 1 || !inv.LoadBalancers[0].Internet || inv.LoadBalancers[0].PublicIPv4 != 2 {
			t.Errorf("%s: load balancers %+v, want one internet-facing ALB with 2 public IPv4 addresses", inv.Stack, inv.LoadBalancers)
		}
		if len(inv.Services) != 1 || inv.Services[0].Arch != ArchARM || inv.Services[0].PublicIP {
			t.Errorf("%s: services %+v, want one ARM64 service without public IPs", inv.Stack, inv.Services)
		}
		if !inv.HasS3Gateway() {
			t.Errorf("%s: no S3 gateway endpoint found", inv.Stack)
		}
		if len(inv.Secrets) != 1 || len(inv.InsightsClusters) != 1 || inv.TargetTrackingPolicies != 3 {
			t.Errorf("%s: secrets %v, insights %v, target tracking %d", inv.Stack, inv.Secrets, inv.InsightsClusters, inv.TargetTrackingPolicies)
		}
		if len(inv.Repositories) != 1 || inv.Repositories[0].KeepImages != 20 {
			t.Errorf("%s: repositories %+v, want one keeping 20 images", inv.Stack, inv.Repositories)
		}
		if len(inv.Unknown) != 0 {
			t.Errorf("%s: resource types unknown to the estimate: %v", inv.Stack, inv.Unknown)
		}
	}
	if s := prod.Services[0]; s.VCPU != 2 || s.MemoryGB != 4 || s.Tasks != 2 || s.MaxTasks != 6 || s.SecretRefs != 2 {
		t.Errorf("prod service %+v, want 2 vCPU, 4 GB, 2 to 6 tasks, 2 secret references", s)
	}
	if s := dev.Services[0]; s.VCPU != 1 || s.MemoryGB != 2 || s.Tasks != 1 {
		t.Errorf("dev service %+v, want 1 vCPU, 2 GB, 1 task", s)
	}
	if prod.LogGroups[0].RetentionDays != 365 || dev.LogGroups[0].RetentionDays != 30 {
		t.Errorf("log retention prod %d dev %d, want 365 and 30", prod.LogGroups[0].RetentionDays, dev.LogGroups[0].RetentionDays)
	}
	// Prod adopts its image bucket and creates an access-log bucket; dev only adopts.
	roles := func(inv Inventory) map[string]Bucket {
		m := map[string]Bucket{}
		for _, b := range inv.Buckets {
			m[b.Role] = b
		}
		return m
	}
	p, d := roles(prod), roles(dev)
	if b := p[BucketImages]; b.Name != "prod.docker.registry.sagebase.org" || b.Created || !b.Versioned || b.NoncurrentDays != 30 {
		t.Errorf("prod image bucket %+v", b)
	}
	accessLogs := resource(t, fixture(t, "prod"), "aws:s3/bucketV2:BucketV2", "alb-access-logs")
	if b := p[BucketAccessLogs]; accessLogs.Str("bucketPrefix") == "" || !strings.HasPrefix(b.Name, accessLogs.Str("bucketPrefix")) || !b.Created || b.ExpirationDays != 365 {
		t.Errorf("prod access-log bucket %+v", b)
	}
	if _, ok := d[BucketAccessLogs]; ok || len(dev.Buckets) != 1 {
		t.Errorf("dev buckets %+v, want only the image bucket", dev.Buckets)
	}
}

func TestNATStrategyDrivesNATAndAddressLines(t *testing.T) {
	a := Defaults("prod")
	// The prod fixture declares OnePerAz: NAT gateways registry-nat-1 and -2, each with its EIP
	// registry-nat-N-ip; fewer gateways are the fixture without the later ones.
	for strategy, want := range map[string]int{"None": 0, "Single": 1, "OnePerAz": 2} {
		s := fixture(t, "prod")
		s.Resources = slices.DeleteFunc(s.Resources, func(r SynthResource) bool {
			for n := want + 1; n <= 2; n++ {
				if declaredAs(r, fmt.Sprintf("registry-nat-%d", n)) || declaredAs(r, fmt.Sprintf("registry-nat-%d-ip", n)) {
					return true
				}
			}
			return false
		})
		e := EstimateOf(FromSynth(s), a)
		nat, ok := e.Line("nat-hours")
		if want == 0 {
			if ok {
				t.Errorf("strategy None still has a NAT line: %+v", nat)
			}
		} else if !near(nat.Quantity, float64(want)*a.Hours) {
			t.Errorf("strategy %s: %v NAT gateway-hours, want %d × %v", strategy, nat.Quantity, want, a.Hours)
		}
		// The ALB's 2 addresses plus one EIP per NAT gateway.
		if ip := line(t, e, "ipv4"); !near(ip.Quantity, float64(2+want)*a.Hours) {
			t.Errorf("strategy %s: %v address-hours, want %d addresses", strategy, ip.Quantity, 2+want)
		}
	}
	// An awsx VPC (a remote component) is counted from its inputs: OnePerAz over 3 AZs.
	s := &Synth{Stack: "prod", Resources: []SynthResource{{Type: "awsx:ec2:Vpc", Name: "registry", Inputs: map[string]interface{}{
		"numberOfAvailabilityZones": 3.0, "natGateways": map[string]interface{}{"strategy": "OnePerAz"}}}}}
	if inv := FromSynth(s); inv.NATGateways != 3 || inv.NATEIPs != 3 {
		t.Errorf("awsx OnePerAz over 3 AZs: %d NAT gateways, %d EIPs", inv.NATGateways, inv.NATEIPs)
	}
}

func TestFargateIsPricedByArchitecture(t *testing.T) {
	a := Defaults("prod")
	for _, tc := range []struct {
		arch, vcpuKey, gbKey, otherKey string
	}{
		{ArchARM, PriceFargateARMVCPU, PriceFargateARMGB, "fargate-vcpu-x86_64"},
		{ArchX86, PriceFargateX86VCPU, PriceFargateX86GB, "fargate-vcpu-arm64"},
	} {
		s := fixture(t, "prod")
		td := resource(t, s, "aws:ecs/taskDefinition:TaskDefinition", "registry")
		td.Inputs["runtimePlatform"].(map[string]interface{})["cpuArchitecture"] = tc.arch
		e := EstimateOf(FromSynth(s), a)
		suffix := strings.ToLower(tc.arch)
		vcpu, mem := line(t, e, "fargate-vcpu-"+suffix), line(t, e, "fargate-gb-"+suffix)
		if vcpu.Price.Key != tc.vcpuKey || mem.Price.Key != tc.gbKey {
			t.Errorf("%s tasks priced with %s and %s", tc.arch, vcpu.Price.Key, mem.Price.Key)
		}
		// 2 tasks of 2 vCPU and 4 GB, as declared.
		if !near(vcpu.Quantity, 2*2*a.Hours) || !near(mem.Quantity, 2*4*a.Hours) {
			t.Errorf("%s: %v vCPU-h and %v GB-h, want %v and %v", tc.arch, vcpu.Quantity, mem.Quantity, 4*a.Hours, 8*a.Hours)
		}
		if !near(vcpu.Monthly(), vcpu.Quantity*PriceOf(tc.vcpuKey).USD) {
			t.Errorf("%s vCPU line costs %v", tc.arch, vcpu.Monthly())
		}
		if _, ok := e.Line(tc.otherKey); ok {
			t.Errorf("%s tasks also have a %s line", tc.arch, tc.otherKey)
		}
	}
	// ARM is the cheaper architecture for the same task.
	if PriceOf(PriceFargateARMVCPU).USD >= PriceOf(PriceFargateX86VCPU).USD || PriceOf(PriceFargateARMGB).USD >= PriceOf(PriceFargateX86GB).USD {
		t.Error("the table prices Linux/ARM at or above Linux/X86")
	}
}

func TestTaskCountFollowsTheScalingMinimum(t *testing.T) {
	a := Defaults("prod")
	s := fixture(t, "prod")
	resource(t, s, "aws:appautoscaling/target:Target", "registry").Inputs["minCapacity"] = 3.0
	if got := line(t, EstimateOf(FromSynth(s), a), "fargate-vcpu-arm64").Quantity; !near(got, 3*2*a.Hours) {
		t.Errorf("minimum 3: %v vCPU-hours, want %v", got, 3*2*a.Hours)
	}
	// Without a scalable target, the desired count.
	without(s, "aws:appautoscaling/target:Target", "registry")
	if got := line(t, EstimateOf(FromSynth(s), a), "fargate-vcpu-arm64").Quantity; !near(got, 2*2*a.Hours) {
		t.Errorf("desiredCount 2: %v vCPU-hours", got)
	}
}

func TestInterfaceEndpointAddsLines(t *testing.T) {
	a := Defaults("prod")
	s := fixture(t, "prod")
	if _, ok := EstimateOf(FromSynth(s), a).Line("vpce-interface-hours"); ok {
		t.Fatal("prod already has an interface endpoint line")
	}
	s.Resources = append(s.Resources, SynthResource{
		Type: "aws:ec2/vpcEndpoint:VpcEndpoint", Name: "logs",
		Inputs: map[string]interface{}{
			"vpcEndpointType": "Interface", "serviceName": "com.amazonaws.us-east-1.logs",
			"subnetIds": []interface{}{"subnet-a", "subnet-b"},
		},
	})
	e := EstimateOf(FromSynth(s), a)
	if l := line(t, e, "vpce-interface-hours"); !near(l.Quantity, 2*a.Hours) || !near(l.Monthly(), 2*a.Hours*PriceOf(PriceInterfaceEndpoint).USD) {
		t.Errorf("a logs endpoint in 2 AZs: %v endpoint-AZ-hours costing %v", l.Quantity, l.Monthly())
	}
	// The task logs now go through it instead of NAT.
	if l := line(t, e, "vpce-interface-gb"); !near(l.Quantity, a.LogGB) {
		t.Errorf("logs endpoint processes %v GB, want the %v GB of logs", l.Quantity, a.LogGB)
	}
	if l := line(t, e, "nat-gb"); !near(l.Quantity, 0) {
		t.Errorf("NAT still processes %v GB with a logs endpoint and an S3 gateway", l.Quantity)
	}
}

func TestWithoutS3GatewayPushesPayNAT(t *testing.T) {
	a := Defaults("prod")
	s := fixture(t, "prod")
	with := line(t, EstimateOf(FromSynth(s), a), "nat-gb")
	if !near(with.Quantity, a.LogGB) {
		t.Errorf("with the S3 gateway NAT processes %v GB, want only the %v GB of logs", with.Quantity, a.LogGB)
	}
	without(s, "aws:ec2/vpcEndpoint:VpcEndpoint", "s3-gateway")
	inv := FromSynth(s)
	if inv.HasS3Gateway() {
		t.Fatal("the S3 gateway endpoint is still found")
	}
	e := EstimateOf(inv, a)
	got := line(t, e, "nat-gb")
	want := a.LogGB + a.PushedGB + a.TaskStarts*a.ImageGB
	if !near(got.Quantity, want) {
		t.Errorf("without the S3 gateway NAT processes %v GB, want logs + pushes + ECR layers = %v", got.Quantity, want)
	}
	if _, ok := e.Line("vpce-gateway"); ok {
		t.Error("a gateway endpoint line remains")
	}
	// More pushes cost more only without the gateway.
	more := a
	more.PushedGB *= 2
	if d := line(t, EstimateOf(inv, more), "nat-gb").Monthly() - got.Monthly(); !near(d, a.PushedGB*PriceOf(PriceNATGB).USD) {
		t.Errorf("doubling pushes adds %v of NAT processing, want %v", d, a.PushedGB*PriceOf(PriceNATGB).USD)
	}
	if line(t, EstimateOf(FromSynth(fixture(t, "prod")), more), "nat-gb").Quantity != with.Quantity {
		t.Error("with the S3 gateway, pushes change NAT processing")
	}
}

func TestTodaysDesignIsTheCDKDesignAtEqualCapacity(t *testing.T) {
	ours := FromSynth(fixture(t, "prod"))
	a := Defaults("prod")
	today := TodaysDesign(ours, a)
	if today.NATGateways != 2 || today.NATEIPs != 2 || today.AvailabilityZones != 2 {
		t.Errorf("today: %d NAT gateways, %d EIPs, %d AZs", today.NATGateways, today.NATEIPs, today.AvailabilityZones)
	}
	if len(today.Services) != 1 {
		t.Fatalf("today's services: %+v", today.Services)
	}
	if s := today.Services[0]; s.Arch != ArchX86 || s.VCPU != 2 || s.MemoryGB != 4 || s.Tasks != 2 || s.PublicIP {
		t.Errorf("today's tasks %+v, want two private X86 tasks of 2 vCPU and 4 GB", s)
	}
	if len(today.LoadBalancers) != 1 || today.LoadBalancers[0].Nodes != 2 || today.LoadBalancers[0].PublicIPv4 != 2 {
		t.Errorf("today's load balancers %+v", today.LoadBalancers)
	}
	if today.HasS3Gateway() {
		t.Error("today's design has an S3 gateway endpoint")
	}
	if ep, ok := today.interfaceFor("execute-api"); !ok || ep.AZs != 2 || len(today.Endpoints) != 1 {
		t.Errorf("today's endpoints %+v, want the API Gateway interface endpoint in 2 AZs only", today.Endpoints)
	}
	// Storage, logs and secrets are the same as ours, but for the lifecycle rules ours adds
	// (tiering_test.go, uploads_test.go).
	bucket := ours.Buckets[0]
	bucket.Tiering, bucket.UploadData = Tiering{}, UploadDataExpiration{}
	if len(today.Buckets) != len(ours.Buckets) || today.Buckets[0] != bucket || len(today.Secrets) != len(ours.Secrets) ||
		today.LogGroups[0] != ours.LogGroups[0] || len(today.InsightsClusters) != len(ours.InsightsClusters) {
		t.Errorf("today's storage, logs or secrets differ from ours")
	}
	// Its estimate: pushes through NAT, X86 prices, the endpoint's hours.
	e := EstimateOf(today, a)
	if l := line(t, e, "nat-gb"); l.Quantity < a.PushedGB {
		t.Errorf("today's NAT processes %v GB, less than the %v GB pushed", l.Quantity, a.PushedGB)
	}
	if l := line(t, e, "fargate-vcpu-x86_64"); !near(l.Quantity, 2*2*a.Hours) {
		t.Errorf("today's X86 vCPU-hours %v", l.Quantity)
	}
	if l := line(t, e, "vpce-interface-hours"); !near(l.Quantity, 2*a.Hours) {
		t.Errorf("today's endpoint AZ-hours %v", l.Quantity)
	}
	if l := line(t, e, "ipv4"); !near(l.Quantity, 4*a.Hours) {
		t.Errorf("today's address-hours %v, want 4 addresses (2 NAT EIPs, 2 ALB nodes)", l.Quantity)
	}
}

func TestLinesAndTotalsAddUp(t *testing.T) {
	r := NewReport(fixture(t, "prod"), "x", Defaults("prod"))
	c := r.Comparison
	for _, e := range []Estimate{c.Ours, c.Today} {
		sum := 0.0
		for _, l := range e.Lines {
			if !near(l.Monthly(), l.Quantity/l.Price.Per*l.Price.USD) || l.Quantity < 0 || l.Basis == "" {
				t.Errorf("%s line %q: quantity %v, monthly %v, basis %q", e.Label, l.Key, l.Quantity, l.Monthly(), l.Basis)
			}
			sum += l.Monthly()
		}
		if !near(e.Total(), sum) {
			t.Errorf("%s total %v, lines add up to %v", e.Label, e.Total(), sum)
		}
	}
	diff := 0.0
	for _, row := range c.Rows {
		diff += row.Difference()
	}
	if !near(diff, c.Ours.Total()-c.Today.Total()) {
		t.Errorf("row differences add up to %v, totals differ by %v", diff, c.Ours.Total()-c.Today.Total())
	}
	if len(c.Rows) < len(c.Ours.Lines) || len(c.Rows) < len(c.Today.Lines) {
		t.Errorf("%d rows for %d and %d lines", len(c.Rows), len(c.Ours.Lines), len(c.Today.Lines))
	}
	if !near(c.Ratio(), c.Ours.Total()/c.Today.Total()) || c.TargetMet() != (c.Ratio() <= TargetRatio) {
		t.Errorf("ratio %v, target met %v", c.Ratio(), c.TargetMet())
	}
}

func TestTargetVerdict(t *testing.T) {
	mk := func(usd float64) Estimate {
		return Estimate{Lines: []Line{{Key: "x", Price: Price{Key: "x", Per: 1, USD: usd}, Quantity: 1}}}
	}
	if c := Compare(mk(70), mk(100)); !c.TargetMet() {
		t.Error("70 of 100 should meet the 70 % target")
	}
	if c := Compare(mk(70.01), mk(100)); c.TargetMet() {
		t.Error("70.01 of 100 should miss the 70 % target")
	}
}

func TestUnknownResourcesAreReported(t *testing.T) {
	s := fixture(t, "prod")
	s.Resources = append(s.Resources, SynthResource{Type: "aws:rds/instance:Instance", Name: "db", Inputs: map[string]interface{}{}})
	inv := FromSynth(s)
	if len(inv.Unknown) != 1 || !strings.Contains(inv.Unknown[0], "aws:rds/instance:Instance") {
		t.Fatalf("unknown resources %v", inv.Unknown)
	}
	var out bytes.Buffer
	NewReport(s, "x", Defaults("prod")).Write(&out)
	if !strings.Contains(out.String(), "not priced**: aws:rds/instance:Instance db") {
		t.Errorf("the report does not name the unpriced resource:\n%s", out.String())
	}
}

func writeFixture(t *testing.T, stack string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "infra", "testdata", "synth-"+stack+".json"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), stack+".json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

// tableCell returns the cells of the side-by-side row whose item is item.
func tableRow(t *testing.T, report, item string) []string {
	t.Helper()
	for _, l := range strings.Split(report, "\n") {
		cells := strings.Split(l, "|")
		if len(cells) > 2 && strings.TrimSpace(cells[1]) == item {
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			return cells[1 : len(cells)-1]
		}
	}
	t.Fatalf("no row %q in:\n%s", item, report)
	return nil
}

func TestAssumptionFlagsChangeTheResult(t *testing.T) {
	path := writeFixture(t, "prod")
	base, _, code := run(t, "-stack", "prod", "-synth", path)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	changed, _, code := run(t, "-stack", "prod", "-synth", path, "-pushed-gb", "900", "-stored-gb", "100")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	// The flags are printed as the assumptions in force...
	if got := tableRow(t, changed, "`-pushed-gb`"); got[1] != "900" {
		t.Errorf("pushed-gb row %v", got)
	}
	if got := tableRow(t, base, "`-pushed-gb`"); got[1] != FormatNumber(Defaults("prod").PushedGB) {
		t.Errorf("default pushed-gb row %v", got)
	}
	// ... and change the lines that depend on them: S3 storage in both designs (ours keeps only
	// the 1 % in objects of 128 KiB or less in Standard, the rest is tiered), today's NAT
	// processing (pushes go through it), ALB LCUs (pushes cross the ALB).
	if b, c := tableRow(t, base, "S3 Standard, image data"), tableRow(t, changed, "S3 Standard, image data"); b[2] == c[2] || c[2] != "1" || c[4] != "100" {
		t.Errorf("stored-gb 100: image data row %v (was %v)", c, b)
	}
	if b, c := tableRow(t, base, "NAT data processed"), tableRow(t, changed, "NAT data processed"); b[5] == c[5] || b[3] != c[3] {
		t.Errorf("pushed-gb 900 should change today's NAT processing only: %v → %v", b, c)
	}
	if b, c := tableRow(t, base, "ALB LCU-hours"), tableRow(t, changed, "ALB LCU-hours"); b[2] == c[2] {
		t.Errorf("pushed-gb 900 did not change the LCU-hours: %v", c)
	}
	// A flag left out keeps the stack's default: dev's defaults differ from prod's.
	devOut, _, _ := run(t, "-stack", "dev", "-synth", writeFixture(t, "dev"), "-pushes", "7")
	if got := tableRow(t, devOut, "`-stored-gb`"); got[1] != FormatNumber(Defaults("dev").StoredGB) {
		t.Errorf("dev stored-gb %v, want dev's default", got)
	}
	if got := tableRow(t, devOut, "`-pushes`"); got[1] != "7" {
		t.Errorf("dev pushes %v", got)
	}
	if Defaults("dev").StoredGB == Defaults("prod").StoredGB {
		t.Error("dev and prod default to the same stored data")
	}
	// Hours scale every hourly line.
	half, _, _ := run(t, "-stack", "prod", "-synth", path, "-hours", "365")
	if got := tableRow(t, half, "NAT gateway hours"); got[2] != "730" {
		t.Errorf("365 h: NAT gateway hours row %v, want 2 × 365", got)
	}
}

func TestAssumptionFlagsAreValidated(t *testing.T) {
	path := writeFixture(t, "prod")
	for _, args := range [][]string{
		{"-pushed-gb", "lots"}, {"-pulls", "-1"}, {"-internet-share", "1.5"}, {"-hours", "0"}, {"-stack", ""}, {"extra"},
		{"-idle-90-share", "1.2"}, {"-large-object-share", "2"}, {"-layer-mb", "0"}, {"-idle-30-90-share", "0.5", "-idle-90-share", "0.6"},
	} {
		if _, _, code := run(t, append([]string{"-stack", "prod", "-synth", path}, args...)...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestMissingSynthOutputNamesMakeSynth(t *testing.T) {
	dir := t.TempDir()
	_, stderr, code := run(t, "-stack", "prod", "-synth", filepath.Join(dir, "prod.json"))
	if code != 2 || !strings.Contains(stderr, "make synth STACK=prod") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	// Another stack's output is refused.
	_, stderr, code = run(t, "-stack", "dev", "-synth", writeFixture(t, "prod"))
	if code != 2 || !strings.Contains(stderr, "make synth STACK=dev") {
		t.Errorf("prod's synth for -stack dev: exit %d, stderr %q", code, stderr)
	}
	// The default path is build/synth/<stack>.json, relative to where it runs (the repository).
	t.Chdir(dir)
	_, stderr, code = run(t, "-stack", "dev")
	if code != 2 || !strings.Contains(stderr, filepath.Join("build", "synth", "dev.json")) || !strings.Contains(stderr, "make synth STACK=dev") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// A stack per engineer is common Pulumi practice: any stack name is estimated, with dev's usage.
func TestAnEngineersStackIsEstimatedWithDevUsage(t *testing.T) {
	b, err := os.ReadFile(writeFixture(t, "dev"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "alice.json")
	if err := os.WriteFile(path, bytes.Replace(b, []byte(`"stack": "dev"`), []byte(`"stack": "alice"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := run(t, "-stack", "alice", "-synth", path)
	if code != 0 {
		t.Fatalf("-stack alice: exit %d, stderr %q", code, stderr)
	}
	if got, want := tableRow(t, out, "`-pushed-gb`")[1], FormatNumber(Defaults("dev").PushedGB); got != want {
		t.Errorf("alice's -pushed-gb default = %s, want dev's %s", got, want)
	}
	if Defaults("alice") != Defaults("dev") || Defaults("prod") == Defaults("dev") {
		t.Errorf("Defaults: alice %+v, dev %+v, prod %+v; want alice = dev != prod", Defaults("alice"), Defaults("dev"), Defaults("prod"))
	}
}

func TestReportPrintsTheComparison(t *testing.T) {
	out, _, code := run(t, "-stack", "prod", "-synth", writeFixture(t, "prod"))
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	r := NewReport(fixture(t, "prod"), "x", Defaults("prod"))
	total := tableRow(t, out, "**total**")
	if total[3] != "**"+dollars(r.Comparison.Ours.Total())+"**" || total[5] != "**"+dollars(r.Comparison.Today.Total())+"**" {
		t.Errorf("total row %v", total)
	}
	for _, want := range []string{
		"ours / today = ", "target for prod: at most 70 %", PricesAsOf, "#### Assumptions", "#### How each quantity is derived", "today's CDK design:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	// Every line item of both designs has its row.
	for _, e := range []Estimate{r.Comparison.Ours, r.Comparison.Today} {
		for _, l := range e.Lines {
			tableRow(t, out, l.Item)
		}
	}
}
