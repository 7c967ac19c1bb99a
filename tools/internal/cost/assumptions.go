package cost

import (
	"flag"
	"fmt"
	"strconv"
)

// Assumptions are the usage figures no resource declaration can tell: how much the registry moves
// and keeps. Every one has a documented default per stack (Defaults) and a flag (Register). The
// defaults are estimates for a research registry of Synapse's size, stated in docs/performance.md
// with their reasoning; replace them with measured values when you have them.
type Assumptions struct {
	Hours float64

	// Traffic.
	PushedGB      float64
	Pushes        float64
	PulledGB      float64
	Pulls         float64
	BlobsPerImage float64
	InternetShare float64

	// ALB usage beyond bytes.
	ActiveConnections       float64
	ConnectionsPerOperation float64
	ResponseKB              float64
	AccessLogBytes          float64

	// Storage.
	StoredGB float64
	ImageGB  float64

	// S3 Intelligent-Tiering: used only when the image bucket declares a transition to it.
	LargeObjectShare float64
	Idle30Share      float64
	Idle90Share      float64
	LayerMB          float64

	// Logs and metrics.
	LogGB                float64
	LogCompression       float64
	InsightsMetrics      float64
	InsightsLogGBPerTask float64

	// Tasks.
	TaskStarts         float64
	ExtraTaskHours     float64
	HealthCheckSeconds float64

	// Today's design only.
	APIEndpointGB       float64
	TodayNoncurrentDays float64
}

// Assumption describes one field: its flag, unit and meaning, and its defaults.
type Assumption struct {
	Flag    string
	Unit    string
	Meaning string
	// Prod and Dev are the defaults for each stack.
	Prod, Dev float64
	field     func(*Assumptions) *float64
}

// Get returns the assumption's value in a.
func (d Assumption) Get(a Assumptions) float64 { return *d.field(&a) }

// AssumptionList is every assumption, in the order the report prints them.
var AssumptionList = []Assumption{
	{"hours", "h/month", "hours in a month (365 × 24 / 12)", 730, 730,
		func(a *Assumptions) *float64 { return &a.Hours }},
	{"pushed-gb", "GB/month", "layer data pushed that the registry did not have yet (client → ALB → task → S3)", 300, 20,
		func(a *Assumptions) *float64 { return &a.PushedGB }},
	{"pushes", "pushes/month", "image pushes (docker push of one tag)", 200, 50,
		func(a *Assumptions) *float64 { return &a.Pushes }},
	{"pulled-gb", "GB/month", "layer data pulled (client ← S3 by pre-signed redirect; never through task, ALB or NAT)", 1000, 50,
		func(a *Assumptions) *float64 { return &a.PulledGB }},
	{"pulls", "pulls/month", "image pulls (docker pull of one tag)", 2000, 200,
		func(a *Assumptions) *float64 { return &a.Pulls }},
	{"blobs-per-image", "blobs", "layers plus config per image: sets the requests per push and pull", 10, 10,
		func(a *Assumptions) *float64 { return &a.BlobsPerImage }},
	{"internet-share", "fraction", "share of pulled bytes that leave AWS (the rest reach clients in us-east-1, free)", 0.5, 0.5,
		func(a *Assumptions) *float64 { return &a.InternetShare }},
	{"active-connections", "connections", "average open client connections at the ALB (LCU active-connections dimension)", 20, 2,
		func(a *Assumptions) *float64 { return &a.ActiveConnections }},
	{"connections-per-op", "connections", "new TLS connections per push or pull (LCU new-connections dimension)", 3, 3,
		func(a *Assumptions) *float64 { return &a.ConnectionsPerOperation }},
	{"response-kb", "KB/request", "request plus response bytes of an API call through the ALB (manifests, redirects, 401s)", 4, 4,
		func(a *Assumptions) *float64 { return &a.ResponseKB }},
	{"access-log-bytes", "bytes/request", "compressed ALB access-log bytes per request", 150, 150,
		func(a *Assumptions) *float64 { return &a.AccessLogBytes }},
	{"stored-gb", "GB", "current image data in the image bucket (adopted: already there today)", 5000, 200,
		func(a *Assumptions) *float64 { return &a.StoredGB }},
	{"image-gb", "GB", "compressed size of the registry's own image in ECR", 0.03, 0.03,
		func(a *Assumptions) *float64 { return &a.ImageGB }},
	{"large-object-share", "fraction", "share of the stored image bytes in objects over 128 KiB (layers), the ones a size-filtered Intelligent-Tiering rule moves and S3 tiers; manifests, links and config blobs are smaller", 0.99, 0.99,
		func(a *Assumptions) *float64 { return &a.LargeObjectShare }},
	{"idle-30-90-share", "fraction", "share of those bytes last read or written 30 to 90 days ago: Intelligent-Tiering's Infrequent Access tier", 0.20, 0.30,
		func(a *Assumptions) *float64 { return &a.Idle30Share }},
	{"idle-90-share", "fraction", "share of those bytes not read or written for more than 90 days: the Archive Instant Access tier (the rest stays in Frequent Access)", 0.70, 0.55,
		func(a *Assumptions) *float64 { return &a.Idle90Share }},
	{"layer-mb", "MB", "average size of a stored object over 128 KiB (a layer): counts the objects Intelligent-Tiering monitors and transitions", 50, 50,
		func(a *Assumptions) *float64 { return &a.LayerMB }},
	{"log-gb", "GB/month", "task log events ingested into CloudWatch Logs", 1, 0.5,
		func(a *Assumptions) *float64 { return &a.LogGB }},
	{"log-compression", "fraction", "archived (compressed) size of a log GB, what CloudWatch bills storage on", 0.15, 0.15,
		func(a *Assumptions) *float64 { return &a.LogCompression }},
	{"insights-metrics", "metrics/cluster", "Container Insights metrics of a cluster with one service and one task family", 35, 35,
		func(a *Assumptions) *float64 { return &a.InsightsMetrics }},
	{"insights-log-gb", "GB/task-month", "Container Insights performance log events ingested per running task", 0.1, 0.1,
		func(a *Assumptions) *float64 { return &a.InsightsLogGBPerTask }},
	{"task-starts", "starts/month", "task starts (deployments, scale-outs, replacements): image pulls from ECR and secret fetches", 30, 30,
		func(a *Assumptions) *float64 { return &a.TaskStarts }},
	{"extra-task-hours", "task-hours/month", "task-hours above the steady count, per service (autoscaling scale-outs)", 0, 0,
		func(a *Assumptions) *float64 { return &a.ExtraTaskHours }},
	{"health-check-seconds", "s", "interval of the registry's storage-driver health check, one S3 HEAD + LIST per task (image/registryconfig: 10 s)", 10, 10,
		func(a *Assumptions) *float64 { return &a.HealthCheckSeconds }},
	{"api-endpoint-gb", "GB/month", "data through today's private API Gateway interface endpoint", 1, 1,
		func(a *Assumptions) *float64 { return &a.APIEndpointGB }},
	{"today-noncurrent-days", "days", "days today's image bucket keeps a deleted upload as a noncurrent version; 0 if it is not versioned (docs/operations.md, step 3, exports its versioning)", 30, 30,
		func(a *Assumptions) *float64 { return &a.TodayNoncurrentDays }},
}

// Defaults returns the default assumptions for a stack: prod's for "prod", dev's for any other
// (dev, or an engineer's own stack, which is used like dev).
func Defaults(stack string) Assumptions {
	var a Assumptions
	for _, d := range AssumptionList {
		v := d.Dev
		if stack == "prod" {
			v = d.Prod
		}
		*d.field(&a) = v
	}
	return a
}

// Overrides records the assumption flags given on a command line.
type Overrides map[string]float64

// Register adds one flag per assumption to fs. The flags fill o; apply them with o.Apply on the
// stack's defaults, so a flag left out keeps the default of the stack being estimated.
func Register(fs *flag.FlagSet, o Overrides) {
	for _, d := range AssumptionList {
		d := d
		usage := fmt.Sprintf("%s, %s (default: prod %s, dev %s)", d.Meaning, d.Unit, FormatNumber(d.Prod), FormatNumber(d.Dev))
		fs.Func(d.Flag, usage, func(s string) error {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return fmt.Errorf("not a number: %q", s)
			}
			if v < 0 {
				return fmt.Errorf("must not be negative: %s", s)
			}
			if d.Unit == "fraction" && v > 1 {
				return fmt.Errorf("a fraction between 0 and 1: %s", s)
			}
			if (d.Flag == "hours" || d.Flag == "health-check-seconds" || d.Flag == "layer-mb") && v == 0 {
				return fmt.Errorf("must be more than 0")
			}
			o[d.Flag] = v
			return nil
		})
	}
}

// Apply returns a with the overridden assumptions replaced.
func (o Overrides) Apply(a Assumptions) Assumptions {
	for _, d := range AssumptionList {
		if v, ok := o[d.Flag]; ok {
			*d.field(&a) = v
		}
	}
	return a
}

// Validate checks what no single flag can: the idle shares are parts of one whole.
func (a Assumptions) Validate() error {
	if a.Idle30Share+a.Idle90Share > 1 {
		return fmt.Errorf("-idle-30-90-share %s plus -idle-90-share %s is more than 1: they are shares of the same bytes", FormatNumber(a.Idle30Share), FormatNumber(a.Idle90Share))
	}
	return nil
}

// FormatNumber prints a number without trailing zeros: 730, 0.5, 0.03.
func FormatNumber(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}
