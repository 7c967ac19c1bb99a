package cost

import (
	"fmt"
	"math"
	"strings"
)

// Line is one item of an estimate: a quantity of a priced unit over a month.
type Line struct {
	// Key identifies the row in the side-by-side table (both designs use the same keys).
	Key  string
	Item string
	// Price is the table entry applied; Quantity is counted in Price.Unit.
	Price    Price
	Quantity float64
	// Basis says how the quantity was derived.
	Basis string
}

// Monthly is the line's cost in USD per month.
func (l Line) Monthly() float64 {
	if l.Price.Per == 0 {
		return 0 // the zero Line: a design without this item
	}
	return l.Quantity / l.Price.Per * l.Price.USD
}

// Estimate is a design's monthly cost, line by line.
type Estimate struct {
	Label string
	Lines []Line
	Notes []string
	// OneOff are charges paid once (when a lifecycle rule first applies, say), priced like lines
	// but never part of Total; OneOffNotes explain one-off effects that are not a single price.
	OneOff      []Line
	OneOffNotes []string
}

// OneOffTotal is the sum of the one-off lines.
func (e Estimate) OneOffTotal() float64 {
	t := 0.0
	for _, l := range e.OneOff {
		t += l.Monthly()
	}
	return t
}

// Total is the sum of the lines.
func (e Estimate) Total() float64 {
	t := 0.0
	for _, l := range e.Lines {
		t += l.Monthly()
	}
	return t
}

// Line returns the line with key, if the estimate has it.
func (e Estimate) Line(key string) (Line, bool) {
	for _, l := range e.Lines {
		if l.Key == key {
			return l, true
		}
	}
	return Line{}, false
}

// lineOrder is the order of the rows in the side-by-side table.
var lineOrder = []string{
	"alb-hours", "alb-lcu", "nat-hours", "nat-gb", "ipv4",
	"fargate-vcpu-arm64", "fargate-gb-arm64", "fargate-vcpu-x86_64", "fargate-gb-x86_64", "fargate-storage",
	"vpce-gateway", "vpce-interface-hours", "vpce-interface-gb",
	"secrets", "secrets-api", "logs-ingest", "logs-storage", "insights-metrics", "insights-logs", "alarms", "metric-alarms",
	"s3-images", "s3-it-frequent", "s3-it-infrequent", "s3-it-archive-instant", "s3-it-monitoring", "s3-it-transitions", "s3-noncurrent", "s3-access-logs", "s3-tier1", "s3-tier2", "ecr", "dto-s3", "dto-alb",
}

// Model constants: how the registry turns usage into requests. Their sources are in the comments
// and in docs/performance.md.
const (
	// Requests through the ALB per pull: GET /v2/ (401, then 200 with the token) and one or two
	// manifest requests (an index, then the platform's), then one request per blob, answered by
	// a redirect to S3.
	requestsPerPullBase = 3
	// Per push: the same 3, then for each blob a HEAD and, when the registry lacks it, POST, PATCH
	// and PUT (counted for every blob: an upper bound).
	requestsPerPushBase = 3
	requestsPerPushBlob = 4
	// image/registryconfig uploads in 32 MiB parts and moves a finished upload to its content
	// address with a server-side copy in 128 MiB parts: PUT-class requests per GB pushed.
	uploadPartsPerGB = 1024.0 / 32
	copyPartsPerGB   = 1024.0 / 128
	// Per pushed blob, PUT/LIST-class requests besides the data parts: create and complete the
	// multipart upload, the upload's startedat and hash state, the link files, and Stat calls
	// that fall back to LIST.
	tier1PerPushedBlob = 6
	// Per pulled blob: the client's GET of the pre-signed URL, the registry's HEAD (Stat) and
	// the GET of the repository's link file.
	tier2PerPulledBlob = 3
	// An ALB node writes an access-log object every 5 minutes.
	accessLogObjectsPerNodeHour = 12
	// Application Auto Scaling creates two alarms (scale out, scale in) per target-tracking policy.
	alarmsPerTargetTrackingPolicy = 2
	// ALB rule evaluations: the first 10 rules per request are free; a single default action
	// evaluates none, so the rule dimension stays 0 for this design.
	gb = 1024.0 * 1024 * 1024
)

// Requests returns the API requests through the ALB per month.
func (a Assumptions) Requests() float64 {
	return a.Pulls*(requestsPerPullBase+a.BlobsPerImage) + a.Pushes*(requestsPerPushBase+requestsPerPushBlob*a.BlobsPerImage)
}

// traffic is a flow of bytes from the tasks to an AWS service or the internet, and the path it
// takes out of the private subnets.
type traffic struct {
	what string
	gb   float64
	// via is "gateway", "interface" or "nat"; "" when the VPC has no path.
	via string
}

// routes returns the tasks' outbound flows and their paths: S3 goes through an S3 gateway
// endpoint if there is one, else an S3 interface endpoint, else NAT; CloudWatch Logs through a
// logs interface endpoint, else NAT. (ECR keeps image layers in S3, so layer downloads at task
// start follow the S3 path; Secrets Manager and ECR API calls are a few KB and left out.)
func routes(inv Inventory, a Assumptions) []traffic {
	viaFor := func(service string, gateway bool) string {
		if gateway {
			return "gateway"
		}
		if _, ok := inv.interfaceFor(service); ok {
			return "interface"
		}
		if inv.NATGateways > 0 {
			return "nat"
		}
		return ""
	}
	s3 := viaFor("s3", inv.HasS3Gateway())
	flows := []traffic{
		{"layers pushed, written to S3 by the tasks", a.PushedGB, s3},
		{"ECR image layers at task start (from S3)", a.TaskStarts * a.ImageGB, s3},
		{"task logs to CloudWatch Logs", a.LogGB, viaFor("logs", false)},
	}
	if _, ok := inv.interfaceFor("execute-api"); ok {
		flows = append(flows, traffic{"API Gateway calls", a.APIEndpointGB, "interface"})
	}
	return flows
}

// Estimate prices an inventory under the assumptions with the price table.
func EstimateOf(inv Inventory, a Assumptions) Estimate {
	e := Estimate{Label: inv.Label, Notes: append([]string(nil), inv.Notes...)}
	add := func(key, item, price string, qty float64, basis string, args ...interface{}) {
		e.Lines = append(e.Lines, Line{Key: key, Item: item, Price: PriceOf(price), Quantity: qty, Basis: fmt.Sprintf(basis, args...)})
	}
	h := a.Hours
	requests := a.Requests()

	// Load balancers.
	if n := len(inv.LoadBalancers); n > 0 {
		add("alb-hours", "ALB hours", PriceALBHour, float64(n)*h, "%d load balancer(s) × %s h", n, FormatNumber(h))
		processed := a.PushedGB + requests*a.ResponseKB*1024/gb
		dims := []struct {
			name string
			lcu  float64
		}{
			{"processed bytes", processed},
			{"new connections", (a.Pushes + a.Pulls) * a.ConnectionsPerOperation / 3600 / 25},
			{"active connections", a.ActiveConnections / 3000 * h},
			{"rule evaluations", 0},
		}
		best := dims[0]
		for _, d := range dims[1:] {
			if d.lcu > best.lcu {
				best = d
			}
		}
		add("alb-lcu", "ALB LCU-hours", PriceALBLCU, best.lcu*float64(n),
			"%s dominates: %s GB processed (pushes %s GB + %s API requests × %s KB) = %s LCU-h; active connections %s LCU-h, new connections %s LCU-h",
			best.name, round(processed), FormatNumber(a.PushedGB), round(requests), FormatNumber(a.ResponseKB), round(dims[0].lcu), round(dims[2].lcu), round(dims[1].lcu))
	}

	// NAT gateways and the bytes they process.
	flows := routes(inv, a)
	if inv.NATGateways > 0 {
		add("nat-hours", "NAT gateway hours", PriceNATHour, float64(inv.NATGateways)*h, "%d NAT gateway(s) (%s) × %s h", inv.NATGateways, inv.NATBasis, FormatNumber(h))
		natGB, parts := flowsVia(flows, "nat")
		add("nat-gb", "NAT data processed", PriceNATGB, natGB, "%s", joinOr(parts, "nothing routed through NAT"))
	}
	for _, f := range flows {
		if f.via == "" && f.gb > 0 {
			e.Notes = append(e.Notes, fmt.Sprintf("%s: the VPC has no NAT gateway or endpoint for it, so the tasks cannot reach it", f.what))
		}
	}

	// Public IPv4 addresses.
	ips, parts := 0, []string{}
	if inv.NATEIPs > 0 {
		ips += inv.NATEIPs
		parts = append(parts, fmt.Sprintf("%d NAT EIP(s)", inv.NATEIPs))
	}
	if inv.ElasticIPs > 0 {
		ips += inv.ElasticIPs
		parts = append(parts, fmt.Sprintf("%d declared EIP(s)", inv.ElasticIPs))
	}
	for _, lb := range inv.LoadBalancers {
		if lb.PublicIPv4 > 0 {
			ips += lb.PublicIPv4
			parts = append(parts, fmt.Sprintf("%d for ALB %q (one per AZ node)", lb.PublicIPv4, lb.Name))
		}
	}
	for _, s := range inv.Services {
		if s.PublicIP {
			ips += s.Tasks
			parts = append(parts, fmt.Sprintf("%d for the tasks of %q", s.Tasks, s.Name))
		}
	}
	if ips > 0 {
		add("ipv4", "public IPv4 addresses", PriceIPv4Hour, float64(ips)*h, "%s = %d address(es) × %s h", strings.Join(parts, " + "), ips, FormatNumber(h))
	}

	// Fargate, by architecture.
	for _, arch := range []struct{ arch, name, vcpu, mem string }{
		{ArchARM, "Linux/ARM", PriceFargateARMVCPU, PriceFargateARMGB},
		{ArchX86, "Linux/X86", PriceFargateX86VCPU, PriceFargateX86GB},
	} {
		var vcpuH, memH float64
		var basis []string
		for _, s := range inv.Services {
			if s.Arch != arch.arch {
				continue
			}
			taskHours := float64(s.Tasks)*h + a.ExtraTaskHours
			vcpuH += taskHours * s.VCPU
			memH += taskHours * s.MemoryGB
			basis = append(basis, fmt.Sprintf("%q: %d task(s) (%s) × %s h + %s extra task-h, %s vCPU and %s GB each",
				s.Name, s.Tasks, s.TasksBasis, FormatNumber(h), FormatNumber(a.ExtraTaskHours), FormatNumber(s.VCPU), FormatNumber(s.MemoryGB)))
		}
		if len(basis) > 0 {
			add("fargate-vcpu-"+strings.ToLower(arch.arch), "Fargate vCPU-hours, "+arch.name, arch.vcpu, vcpuH, "%s", strings.Join(basis, "; "))
			add("fargate-gb-"+strings.ToLower(arch.arch), "Fargate GB-hours, "+arch.name, arch.mem, memH, "same tasks, memory")
		}
	}
	extraStorage, storageBasis := 0.0, []string{}
	for _, s := range inv.Services {
		if s.EphemeralGB > 20 {
			extraStorage += (s.EphemeralGB - 20) * (float64(s.Tasks)*h + a.ExtraTaskHours)
			storageBasis = append(storageBasis, fmt.Sprintf("%q: %s GB above the 20 GB included", s.Name, FormatNumber(s.EphemeralGB-20)))
		}
	}
	if extraStorage > 0 {
		add("fargate-storage", "Fargate ephemeral storage above 20 GB", PriceFargateEphemeralGB, extraStorage, "%s", strings.Join(storageBasis, "; "))
	}

	// VPC endpoints.
	var gateways, ifaceAZs []string
	ifaceHours := 0.0
	for _, ep := range inv.Endpoints {
		switch ep.Type {
		case "Gateway":
			gateways = append(gateways, fmt.Sprintf("%q (%s)", ep.Name, ep.Service))
		case "Interface":
			ifaceHours += float64(ep.AZs) * h
			ifaceAZs = append(ifaceAZs, fmt.Sprintf("%q (%s) in %d AZs", ep.Name, ep.Service, ep.AZs))
		}
	}
	if len(gateways) > 0 {
		add("vpce-gateway", "gateway VPC endpoints", PriceGatewayEndpoint, float64(len(gateways))*h, "%s: no charge", strings.Join(gateways, ", "))
	}
	if ifaceHours > 0 {
		add("vpce-interface-hours", "interface VPC endpoint AZ-hours", PriceInterfaceEndpoint, ifaceHours, "%s × %s h", strings.Join(ifaceAZs, ", "), FormatNumber(h))
		ifaceGB, parts := flowsVia(flows, "interface")
		add("vpce-interface-gb", "interface VPC endpoint data processed", PriceInterfaceGB, ifaceGB, "%s", joinOr(parts, "nothing routed through them"))
	}

	// Secrets Manager.
	if n := len(inv.Secrets); n > 0 {
		add("secrets", "Secrets Manager secrets", PriceSecret, float64(n), "%d secret(s): %s", n, strings.Join(inv.Secrets, ", "))
		refs := 0
		for _, s := range inv.Services {
			refs += s.SecretRefs
		}
		add("secrets-api", "Secrets Manager API calls", PriceSecretAPI, a.TaskStarts*float64(refs), "%s task starts × %d secret reference(s) fetched by ECS", FormatNumber(a.TaskStarts), refs)
	}

	// CloudWatch Logs: the tasks' group, ingestion and archive at steady state.
	if lg, ok := taskLogGroup(inv); ok {
		add("logs-ingest", "CloudWatch Logs ingestion", PriceLogsIngest, a.LogGB, "%s GB/month of task logs into %q", FormatNumber(a.LogGB), lg.Name)
		months, basis := retentionMonths(lg.RetentionDays, h)
		add("logs-storage", "CloudWatch Logs storage", PriceLogsStorage, a.LogGB*a.LogCompression*months,
			"%s GB × %s compressed × %s months kept (%s)", FormatNumber(a.LogGB), FormatNumber(a.LogCompression), round(months), basis)
	} else if len(inv.Services) > 0 {
		e.Notes = append(e.Notes, "no CloudWatch log group is declared for the tasks: log costs not counted")
	}

	// Container Insights and scaling alarms.
	if n := len(inv.InsightsClusters); n > 0 {
		add("insights-metrics", "Container Insights metrics", PriceMetric, float64(n)*a.InsightsMetrics, "%d cluster(s) × %s metrics", n, FormatNumber(a.InsightsMetrics))
		tasks := float64(inv.TotalTasks()) + a.ExtraTaskHours/h*float64(len(inv.Services))
		add("insights-logs", "Container Insights performance logs", PriceLogsIngest, tasks*a.InsightsLogGBPerTask, "%s task(s) × %s GB/task-month", round(tasks), FormatNumber(a.InsightsLogGBPerTask))
	}
	if inv.TargetTrackingPolicies > 0 {
		add("alarms", "CloudWatch alarms (target tracking)", PriceAlarm, float64(inv.TargetTrackingPolicies*alarmsPerTargetTrackingPolicy), "%d target-tracking policies × %d alarms each", inv.TargetTrackingPolicies, alarmsPerTargetTrackingPolicy)
	}
	if inv.MetricAlarms > 0 {
		add("metric-alarms", "CloudWatch alarms (declared)", PriceAlarm, float64(inv.MetricAlarms), "%d metric(s) read by the stack's alarms", inv.MetricAlarms)
	}

	// S3: image data, noncurrent versions, access logs, requests.
	var images []Bucket
	for _, b := range inv.Buckets {
		if b.Role == BucketImages {
			images = append(images, b)
		}
	}
	if len(images) > 0 {
		b := images[0]
		adopted := "adopted"
		if b.Created {
			adopted = "created"
		}
		if b.Tiering.Enabled {
			e.intelligentTiering(b, adopted, a)
		} else {
			add("s3-images", "S3 Standard, image data", PriceS3Standard, a.StoredGB, "%s GB in %q (%s by the stack; no lifecycle transition out of S3 Standard)", FormatNumber(a.StoredGB), b.Name, adopted)
		}
		if len(images) > 1 {
			e.Notes = append(e.Notes, fmt.Sprintf("%d data buckets: stored-gb is counted once, for %q", len(images), b.Name))
		}
		if b.Versioned {
			// S3 expires a noncurrent version at the first midnight UTC after its days have
			// passed: half a day later than the days, on average.
			months, basis := 1.0, "no noncurrent expiration: counted as one month, but they accumulate"
			if b.NoncurrentDays > 0 {
				months, basis = (float64(b.NoncurrentDays)+0.5)/(h/24), fmt.Sprintf("noncurrent versions expire after %d days, at the next midnight UTC", b.NoncurrentDays)
			}
			if u := b.UploadData; u.Rule != "" && (b.NoncurrentDays == 0 || u.Days < b.NoncurrentDays) {
				months, basis = (float64(u.Days)+0.5)/(h/24), fmt.Sprintf("lifecycle rule %q expires deleted upload data after %d day(s), at the next midnight UTC", u.Rule, u.Days)
			}
			if b.Tiering.Enabled {
				basis += "; they stay in S3 Standard: a lifecycle transition moves current versions only, and the upload is deleted within seconds, long before the daily lifecycle run"
			}
			add("s3-noncurrent", "S3 Standard, noncurrent versions", PriceS3Standard, a.PushedGB*months,
				"the registry moves each upload to its content address by copy + delete, so with versioning every pushed GB stays as a noncurrent version: %s GB × %s months (%s)",
				FormatNumber(a.PushedGB), round(months), basis)
		}
	}
	accessLogPuts := 0.0
	for _, lb := range inv.LoadBalancers {
		if lb.AccessLogBucket == "" {
			continue
		}
		days := 0
		for _, b := range inv.Buckets {
			if b.Name == lb.AccessLogBucket {
				days = b.ExpirationDays
			}
		}
		months, basis := retentionMonths(days, h)
		monthly := requests * a.AccessLogBytes / gb
		add("s3-access-logs", "S3 Standard, ALB access logs", PriceS3Standard, monthly*months,
			"%s requests × %s B = %s GB/month, kept %s months (%s) in %q", round(requests), FormatNumber(a.AccessLogBytes), round(monthly), round(months), basis, lb.AccessLogBucket)
		accessLogPuts += float64(lb.Nodes) * accessLogObjectsPerNodeHour * h
	}
	if len(images) > 0 {
		tasks := float64(inv.TotalTasks())
		checks := tasks*h*3600/a.HealthCheckSeconds + a.ExtraTaskHours*3600/a.HealthCheckSeconds*float64(len(inv.Services))
		blobsPushed := a.Pushes * a.BlobsPerImage
		tier1 := a.PushedGB*(uploadPartsPerGB+copyPartsPerGB) + blobsPushed*tier1PerPushedBlob + checks + accessLogPuts
		add("s3-tier1", "S3 PUT/COPY/POST/LIST requests", PriceS3Tier1, tier1,
			"upload and copy parts %s + per pushed blob %s + storage health-check LISTs %s + access-log objects %s",
			round(a.PushedGB*(uploadPartsPerGB+copyPartsPerGB)), round(blobsPushed*tier1PerPushedBlob), round(checks), round(accessLogPuts))
		pulledBlobs := a.Pulls * a.BlobsPerImage
		tier2 := pulledBlobs*tier2PerPulledBlob + checks
		add("s3-tier2", "S3 GET/HEAD requests", PriceS3Tier2, tier2,
			"%s pulled blobs × %d + storage health-check HEADs %s", round(pulledBlobs), tier2PerPulledBlob, round(checks))
	}

	// ECR.
	if len(inv.Repositories) > 0 {
		images, names := 0.0, []string{}
		for _, r := range inv.Repositories {
			keep := r.KeepImages
			if keep == 0 {
				keep = 1
			}
			images += float64(keep)
			names = append(names, fmt.Sprintf("%q keeps %d", r.Name, keep))
		}
		add("ecr", "ECR storage", PriceECRStorage, images*a.ImageGB, "%s image(s) × %s GB (%s; shared layers would make it less)", FormatNumber(images), FormatNumber(a.ImageGB), strings.Join(names, ", "))
	}

	// Data transfer out to the internet.
	if len(images) > 0 {
		add("dto-s3", "data out to the internet, S3 pulls", PriceDataOut, a.PulledGB*a.InternetShare, "%s GB pulled × %s leaving AWS", FormatNumber(a.PulledGB), FormatNumber(a.InternetShare))
	}
	if len(inv.LoadBalancers) > 0 {
		add("dto-alb", "data out to the internet, ALB responses", PriceDataOut, requests*a.ResponseKB*1024/gb, "%s requests × %s KB", round(requests), FormatNumber(a.ResponseKB))
	}
	return e
}

// TierSplit is where the image bucket's bytes in objects over 128 KiB sit in S3
// Intelligent-Tiering at steady state, in GB.
type TierSplit struct {
	Frequent, Infrequent, ArchiveInstant float64
	// Adjusted says how the assumed shares were corrected ("" when they were not).
	Adjusted string
}

// SplitTiers applies the idle shares to large GB of layers, then enforces what the push rate
// makes certain: layers written in the last 30 days cannot have gone 30 days unread (they are in
// Frequent Access) and layers written in the last 90 days cannot be in Archive Instant Access. A
// correction only ever moves bytes to a dearer tier.
func SplitTiers(large float64, a Assumptions) TierSplit {
	s := TierSplit{Infrequent: large * a.Idle30Share, ArchiveInstant: large * a.Idle90Share}
	s.Frequent = large - s.Infrequent - s.ArchiveInstant
	days := a.Hours / 24
	pushed := a.PushedGB * a.LargeObjectShare
	young, recent := math.Min(large, pushed*30/days), math.Min(large, pushed*90/days)
	var why []string
	if s.Frequent < young {
		deficit, cold := young-s.Frequent, s.Infrequent+s.ArchiveInstant
		s.Infrequent -= deficit * s.Infrequent / cold
		s.ArchiveInstant -= deficit * s.ArchiveInstant / cold
		s.Frequent = young
		why = append(why, fmt.Sprintf("the shares put less than the %s GB of layers written in the last 30 days in Frequent Access: raised to %s GB", round(young), round(young)))
	}
	if limit := large - recent; s.ArchiveInstant > limit+1e-9 {
		s.Infrequent += s.ArchiveInstant - limit
		s.ArchiveInstant = limit
		why = append(why, fmt.Sprintf("the shares put some of the %s GB written in the last 90 days in Archive Instant Access: moved to Infrequent Access", round(recent)))
	}
	s.Adjusted = strings.Join(why, "; ")
	return s
}

// intelligentTiering prices the image data of a bucket whose lifecycle moves current objects
// over a size into S3 Intelligent-Tiering: small objects in S3 Standard, large ones in the three
// automatic tiers by how long they have gone unread, the monitoring fee per large object, the
// transition of each new layer; the transition of the objects already stored and the 90 days
// before the tiers fill are one-off.
func (e *Estimate) intelligentTiering(b Bucket, adopted string, a Assumptions) {
	add := func(key, item, price string, qty float64, basis string, args ...interface{}) {
		e.Lines = append(e.Lines, Line{Key: key, Item: item, Price: PriceOf(price), Quantity: qty, Basis: fmt.Sprintf(basis, args...)})
	}
	t := b.Tiering
	threshold := math.Max(t.MinBytes, IntelligentTieringMinBytes)
	over := fmt.Sprintf("over %s", sizeName(threshold))
	large := a.StoredGB * a.LargeObjectShare
	small := a.StoredGB - large
	add("s3-images", "S3 Standard, image data", PriceS3Standard, small,
		"%s GB in %q (%s by the stack) × %s in objects of %s or less (manifests, links, config blobs), which lifecycle rule %q leaves in S3 Standard; the %s GB in objects %s move to Intelligent-Tiering",
		FormatNumber(a.StoredGB), b.Name, adopted, round(1-a.LargeObjectShare), sizeName(threshold), t.Rule, round(large), over)
	if t.MinBytes > IntelligentTieringMinBytes {
		e.Notes = append(e.Notes, fmt.Sprintf("rule %q moves objects over %s only: -large-object-share is read as the share of bytes above that size", t.Rule, sizeName(t.MinBytes)))
	}
	if t.Days > 0 {
		e.Notes = append(e.Notes, fmt.Sprintf("rule %q transitions objects %d days after creation: their first %d days are in S3 Standard (the Frequent Access rate), so each moves down %d days later than the idle shares assume", t.Rule, t.Days, t.Days, t.Days))
	}
	split := SplitTiers(large, a)
	if split.Adjusted != "" {
		e.Notes = append(e.Notes, "Intelligent-Tiering: "+split.Adjusted)
	}
	frequentShare := 0.0
	if large > 0 {
		frequentShare = split.Frequent / large
	}
	add("s3-it-frequent", "S3 Intelligent-Tiering, Frequent Access", PriceS3ITFrequent, split.Frequent,
		"layers read or written in the last 30 days: %s GB × %s (1 − idle shares %s and %s)", round(large), round(frequentShare), FormatNumber(a.Idle30Share), FormatNumber(a.Idle90Share))
	add("s3-it-infrequent", "S3 Intelligent-Tiering, Infrequent Access", PriceS3ITInfrequent, split.Infrequent,
		"layers last read or written 30 to 90 days ago: %s GB × %s", round(large), round(ratio(split.Infrequent, large)))
	add("s3-it-archive-instant", "S3 Intelligent-Tiering, Archive Instant Access", PriceS3ITArchiveInstant, split.ArchiveInstant,
		"layers not read for more than 90 days: %s GB × %s", round(large), round(ratio(split.ArchiveInstant, large)))
	objects := large * 1024 / a.LayerMB
	add("s3-it-monitoring", "S3 Intelligent-Tiering monitoring", PriceS3ITMonitoring, objects,
		"%s GB in objects %s ÷ %s MB per layer", round(large), over, FormatNumber(a.LayerMB))
	pushed := a.PushedGB * a.LargeObjectShare
	add("s3-it-transitions", "S3 lifecycle transitions into Intelligent-Tiering", PriceS3ITTransition, pushed*1024/a.LayerMB,
		"each new layer is written in S3 Standard and moved by rule %q once: %s GB pushed × %s ÷ %s MB per layer", t.Rule, FormatNumber(a.PushedGB), FormatNumber(a.LargeObjectShare), FormatNumber(a.LayerMB))

	// One-off: the objects already stored are transitioned when the rule first runs, and enter
	// Intelligent-Tiering in Frequent Access whatever their age.
	e.OneOff = append(e.OneOff, Line{Key: "s3-it-transition-existing", Item: "S3 lifecycle transitions of the layers already stored", Price: PriceOf(PriceS3ITTransition),
		Quantity: objects, Basis: fmt.Sprintf("once, when rule %q first runs: %s GB in objects %s ÷ %s MB per layer", t.Rule, round(large), over, FormatNumber(a.LayerMB))})
	fa, ia, aia := PriceOf(PriceS3ITFrequent).USD, PriceOf(PriceS3ITInfrequent).USD, PriceOf(PriceS3ITArchiveInstant).USD
	steady := split.Frequent*fa + split.Infrequent*ia + split.ArchiveInstant*aia
	first := large * fa
	second := split.Frequent*fa + (split.Infrequent+split.ArchiveInstant)*ia
	days := a.Hours / 24
	extra := (first-steady)*30/days + (second-steady)*60/days
	e.OneOffNotes = append(e.OneOffNotes, fmt.Sprintf(
		"ramp-up: the monthly lines are the steady state, reached 90 days after the rule first runs. Every object enters Intelligent-Tiering in Frequent Access and moves down only after 30 and 90 days without access, however old it is: the %s GB of tiered layers cost %s a month for the first 30 days and %s a month for the next 60 instead of %s, %s more in all, once",
		round(large), dollars(first), dollars(second), dollars(steady), dollars(extra)))
}

func ratio(part, whole float64) float64 {
	if whole == 0 {
		return 0
	}
	return part / whole
}

// sizeName prints a byte count in KiB or MiB: 131072 → "128 KiB".
func sizeName(bytes float64) string {
	if bytes >= 1024*1024 {
		return FormatNumber(math.Round(bytes/1024/1024*100)/100) + " MiB"
	}
	return FormatNumber(math.Round(bytes/1024*100)/100) + " KiB"
}

func taskLogGroup(inv Inventory) (LogGroup, bool) {
	for _, s := range inv.Services {
		for _, lg := range inv.LogGroups {
			if lg.Name == s.LogGroup && s.LogGroup != "" {
				return lg, true
			}
		}
	}
	if len(inv.LogGroups) > 0 {
		return inv.LogGroups[0], true
	}
	return LogGroup{}, false
}

// retentionMonths is how many months of data a store holds at steady state: its retention, or a
// year when nothing expires (the store keeps growing after that).
func retentionMonths(days int, hours float64) (float64, string) {
	if days <= 0 {
		return 12, "never expires: one year counted, it keeps growing"
	}
	return float64(days) / (hours / 24), fmt.Sprintf("retention %d days", days)
}

func joinOr(parts []string, empty string) string {
	if len(parts) == 0 {
		return empty
	}
	return strings.Join(parts, " + ")
}

// round prints a quantity with at most two decimals (more for small values).
func round(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 100:
		return FormatNumber(math.Round(v))
	case math.Abs(v) >= 1:
		return FormatNumber(math.Round(v*100) / 100)
	default:
		return FormatNumber(math.Round(v*10000) / 10000)
	}
}

// flowsVia adds up the traffic that takes one path, and describes each part of it.
func flowsVia(flows []traffic, via string) (gb float64, parts []string) {
	parts = []string{}
	for _, f := range flows {
		if f.via == via {
			gb += f.gb
			parts = append(parts, fmt.Sprintf("%s %s GB", f.what, round(f.gb)))
		}
	}
	return gb, parts
}
