package cost

// The us-east-1 price table: the only place a price is written. Every entry names the AWS pricing
// page that publishes it (Source) and how the number was checked (Checked). AWS renders most
// regional rates on those pages with a region selector, so the stored copies readable when this
// table was compiled often show no number; where that is so, Checked names the dated
// transcriptions that quote the rate for US East (N. Virginia). A rate nobody could confirm says
// so in Checked instead of pretending. Update the table by editing the numbers and the dates
// together, then run `go -C tools test ./internal/cost` and the cost target for both stacks.

// PricesAsOf is the date the table below was compiled and its sources read.
const PricesAsOf = "2026-11-23"

// PriceRegion is the region every price below is for.
const PriceRegion = "us-east-1"

// Price keys, used by the estimator; every key has exactly one entry in Prices.
const (
	PriceALBHour            = "alb-hour"
	PriceALBLCU             = "alb-lcu-hour"
	PriceNATHour            = "nat-hour"
	PriceNATGB              = "nat-gb"
	PriceIPv4Hour           = "public-ipv4-hour"
	PriceFargateX86VCPU     = "fargate-linux-x86-vcpu-hour"
	PriceFargateX86GB       = "fargate-linux-x86-gb-hour"
	PriceFargateARMVCPU     = "fargate-linux-arm-vcpu-hour"
	PriceFargateARMGB       = "fargate-linux-arm-gb-hour"
	PriceFargateEphemeralGB = "fargate-ephemeral-gb-hour"
	PriceGatewayEndpoint    = "vpce-gateway-hour"
	PriceInterfaceEndpoint  = "vpce-interface-az-hour"
	PriceInterfaceGB        = "vpce-interface-gb"
	PriceSecret             = "secretsmanager-secret-month"
	PriceSecretAPI          = "secretsmanager-api-10k"
	PriceLogsIngest         = "logs-ingest-gb"
	PriceLogsStorage        = "logs-storage-gb-month"
	PriceMetric             = "cloudwatch-metric-month"
	PriceAlarm              = "cloudwatch-alarm-month"
	PriceS3Standard         = "s3-standard-gb-month"
	PriceS3Tier1            = "s3-tier1-requests"
	PriceS3Tier2            = "s3-tier2-requests"
	PriceS3ITFrequent       = "s3-it-frequent-gb-month"
	PriceS3ITInfrequent     = "s3-it-infrequent-gb-month"
	PriceS3ITArchiveInstant = "s3-it-archive-instant-gb-month"
	PriceS3ITMonitoring     = "s3-it-monitoring-1k-objects"
	PriceS3ITTransition     = "s3-transition-into-it-1k-requests"
	PriceECRStorage         = "ecr-gb-month"
	PriceDataOut            = "data-transfer-out-gb"
)

// Price is one published rate: USD for Per units of Unit.
type Price struct {
	Key  string
	What string
	// Unit is what is counted, e.g. "NAT gateway-hour"; Per is how many of them USD buys (1
	// unless the page prices per 1,000 or per 10,000).
	Unit string
	Per  float64
	USD  float64
	// Source is the AWS pricing page that publishes the rate.
	Source string
	// Checked says how the number was verified, with the date of what was read.
	Checked string
}

// Prices is the table. Keep one entry per key.
var Prices = []Price{
	{
		Key: PriceALBHour, What: "Application Load Balancer, per load balancer-hour",
		Unit: "ALB-hour", Per: 1, USD: 0.0225,
		Source:  "https://aws.amazon.com/elasticloadbalancing/pricing/",
		Checked: "quoted from the page's US East pricing example in the transcription api-evangelist/amazon-elastic-load-balancing plans/amazon-elastic-load-balancing-plans-pricing.yml (page read 2026-09-20); same rate in cloud-horizons.com 'ALB: the line item nobody watches' (2026-05-08)",
	},
	{
		Key: PriceALBLCU, What: "Application Load Balancer, per LCU-hour (an LCU: 25 new connections/s, 3,000 active connections/min, 1 GB/h processed for IP targets, 1,000 rule evaluations/s; the highest dimension is billed)",
		Unit: "LCU-hour", Per: 1, USD: 0.008,
		Source:  "https://aws.amazon.com/elasticloadbalancing/pricing/",
		Checked: "rate and LCU dimensions quoted from the page's US East example in the same api-evangelist transcription (page read 2026-09-20)",
	},
	{
		Key: PriceNATHour, What: "NAT gateway, per gateway-hour",
		Unit: "NAT gateway-hour", Per: 1, USD: 0.045,
		Source:  "https://aws.amazon.com/vpc/pricing/",
		Checked: "the AWS page renders the rate per region; us-east-1 $0.045/h given by basavytix.com 'AWS NAT Gateway pricing' and cloudpipelines.pages.dev 'AWS NAT Gateway pricing 2026' (US East table); the page's own example (US East Ohio, same rate) is quoted in api-evangelist/amazon-vpc (read 2026-09-20)",
	},
	{
		Key: PriceNATGB, What: "NAT gateway, per GB processed (either direction, any destination)",
		Unit: "GB processed", Per: 1, USD: 0.045,
		Source:  "https://aws.amazon.com/vpc/pricing/",
		Checked: "same sources as the NAT hourly rate (us-east-1 $0.045/GB)",
	},
	{
		Key: PriceIPv4Hour, What: "public IPv4 address (in use or idle), per address-hour",
		Unit: "address-hour", Per: 1, USD: 0.005,
		Source:  "https://aws.amazon.com/vpc/pricing/",
		Checked: "charge in force since 2024-02-01 for all public IPv4 addresses, NAT gateways and load balancers included (AWS announcement 2023-07-28, restated in repost.aws 'Public IPv4 Addresses Cost Projection' and community.aws 'AWS to Charge Public IPv4 Addresses', 2024)",
	},
	{
		Key: PriceFargateX86VCPU, What: "Fargate Linux/X86, per vCPU-hour",
		Unit: "vCPU-hour", Per: 1, USD: 0.04048,
		Source:  "https://aws.amazon.com/fargate/pricing/",
		Checked: "AWS's ECS pricing example gives $0.000011244 per vCPU-second for Linux/X86 in US East (= $0.04048/h; quoted in api-evangelist/amazon-ecs, read 2026-09-20); vantage.sh 'Fargate pricing' us-east-1 table",
	},
	{
		Key: PriceFargateX86GB, What: "Fargate Linux/X86, per GB of memory-hour",
		Unit: "GB-hour", Per: 1, USD: 0.004445,
		Source:  "https://aws.amazon.com/fargate/pricing/",
		Checked: "vantage.sh 'Fargate pricing' us-east-1 table; wring.co 'AWS Fargate pricing' (2026-03-10)",
	},
	{
		Key: PriceFargateARMVCPU, What: "Fargate Linux/ARM (Graviton), per vCPU-hour",
		Unit: "vCPU-hour", Per: 1, USD: 0.03238,
		Source:  "https://aws.amazon.com/fargate/pricing/",
		Checked: "vantage.sh 'Fargate pricing' us-east-1 table (Linux/ARM $0.03238); cloudburn.io 'AWS Fargate pricing' (us-east-1, March 2026) gives ARM about 20 % below X86",
	},
	{
		Key: PriceFargateARMGB, What: "Fargate Linux/ARM (Graviton), per GB of memory-hour",
		Unit: "GB-hour", Per: 1, USD: 0.00356,
		Source:  "https://aws.amazon.com/fargate/pricing/",
		Checked: "vantage.sh 'Fargate pricing' us-east-1 table (Linux/ARM $0.00356)",
	},
	{
		Key: PriceFargateEphemeralGB, What: "Fargate ephemeral storage above the 20 GB included, per GB-hour",
		Unit: "GB-hour", Per: 1, USD: 0.000111,
		Source:  "https://aws.amazon.com/fargate/pricing/",
		Checked: "vantage.sh 'Fargate pricing' ($0.000111 per GB-hour above 20 GB); the 20 GB included is quoted from AWS's ECS pricing page in api-evangelist/amazon-ecs (read 2026-09-20)",
	},
	{
		Key: PriceGatewayEndpoint, What: "gateway VPC endpoint (S3, DynamoDB): no hourly or data charge",
		Unit: "endpoint-hour", Per: 1, USD: 0,
		Source:  "https://aws.amazon.com/privatelink/pricing/",
		Checked: "gateway endpoints carry no charge (basavytix.com, egresscost.com and cloudcostkit.com PrivateLink guides, 2026: 'Gateway Endpoint (S3/DynamoDB): Free')",
	},
	{
		Key: PriceInterfaceEndpoint, What: "interface VPC endpoint (PrivateLink), per endpoint per Availability Zone-hour",
		Unit: "endpoint-AZ-hour", Per: 1, USD: 0.01,
		Source:  "https://aws.amazon.com/privatelink/pricing/",
		Checked: "the stored AWS page states billing per endpoint per AZ-hour (rate rendered per region); $0.01 per AZ-hour in awsnegotiations.com 'AWS PrivateLink cost analysis' (May 2026) and egresscost.com ($7.20/AZ per 720 h)",
	},
	{
		Key: PriceInterfaceGB, What: "interface VPC endpoint, per GB processed (first PB per month in the region)",
		Unit: "GB processed", Per: 1, USD: 0.01,
		Source:  "https://aws.amazon.com/privatelink/pricing/",
		Checked: "tier table 'First 1 PB $0.01' read in a stored copy of the AWS PrivateLink pricing page",
	},
	{
		Key: PriceSecret, What: "Secrets Manager, per secret-month",
		Unit: "secret-month", Per: 1, USD: 0.40,
		Source:  "https://aws.amazon.com/secrets-manager/pricing/",
		Checked: "$0.40 per secret per month in hivebook.wiki 'AWS Secrets Manager' (2026); the AWS page was not readable as text here",
	},
	{
		Key: PriceSecretAPI, What: "Secrets Manager API calls, per 10,000 calls",
		Unit: "API calls", Per: 10000, USD: 0.05,
		Source:  "https://aws.amazon.com/secrets-manager/pricing/",
		Checked: "$0.05 per 10,000 API calls, same source as the per-secret rate",
	},
	{
		Key: PriceLogsIngest, What: "CloudWatch Logs, Standard log class, per GB ingested",
		Unit: "GB ingested", Per: 1, USD: 0.50,
		Source:  "https://aws.amazon.com/cloudwatch/pricing/",
		Checked: "us-east-1 Standard class $0.50/GB in c3x.dev 'CloudWatch Logs cost optimization' (June 2026); the stored AWS page lists the free tier only",
	},
	{
		Key: PriceLogsStorage, What: "CloudWatch Logs archive (compressed), per GB-month",
		Unit: "GB-month", Per: 1, USD: 0.03,
		Source:  "https://aws.amazon.com/cloudwatch/pricing/",
		Checked: "us-east-1 $0.03 per GB-month in c3x.dev (June 2026)",
	},
	{
		Key: PriceMetric, What: "CloudWatch metric (custom, incl. Container Insights), per metric-month, first 10,000",
		Unit: "metric-month", Per: 1, USD: 0.30,
		Source:  "https://aws.amazon.com/cloudwatch/pricing/",
		Checked: "$0.30 per metric-month for the first 10,000 in c3x.dev 'CloudWatch custom metrics cost' (2026); Container Insights metrics are billed as custom metrics (Amazon ECS developer guide, 'Amazon ECS CloudWatch Container Insights')",
	},
	{
		Key: PriceAlarm, What: "CloudWatch standard-resolution alarm, per alarm metric-month",
		Unit: "alarm-month", Per: 1, USD: 0.10,
		Source:  "https://aws.amazon.com/cloudwatch/pricing/",
		Checked: "$0.10 per standard alarm in c3x.dev 'CloudWatch custom metrics cost' (2026)",
	},
	{
		Key: PriceS3Standard, What: "S3 Standard storage, per GB-month (first 50 TB)",
		Unit: "GB-month", Per: 1, USD: 0.023,
		Source:  "https://aws.amazon.com/s3/pricing/",
		Checked: "$0.023 per GB-month for the first 50 TB in US East (N. Virginia), deepeshsoni.com and cloudtoggle.com S3 pricing guides; the stored AWS page renders the table dynamically",
	},
	{
		Key: PriceS3Tier1, What: "S3 Standard PUT, COPY, POST, LIST requests, per 1,000",
		Unit: "requests", Per: 1000, USD: 0.005,
		Source:  "https://aws.amazon.com/s3/pricing/",
		Checked: "c3x.dev 'S3 request fees explained' (2026): Tier 1 $0.005 per 1,000 at Standard",
	},
	{
		Key: PriceS3Tier2, What: "S3 Standard GET, HEAD, SELECT requests, per 1,000",
		Unit: "requests", Per: 1000, USD: 0.0004,
		Source:  "https://aws.amazon.com/s3/pricing/",
		Checked: "c3x.dev 'S3 request fees explained' (2026): Tier 2 $0.0004 per 1,000 at Standard",
	},
	// S3 Intelligent-Tiering (IT). The stored copy below is the AWS S3 pricing page's own
	// "US East (N. Virginia)" tables, converted to Markdown on 2025-10-19; the live page was not
	// readable here (it renders rates per region), so these five rates are as of that copy, read
	// again on 2026-11-23, and cross-checked against a us-east-1 vendor table. Requests to
	// IT objects (PUT $0.005, GET $0.0004 per 1,000) cost what they cost in Standard in the same
	// copy, and IT has no retrieval fee: the request lines need no IT rates.
	{
		Key: PriceS3ITFrequent, What: "S3 Intelligent-Tiering, Frequent Access tier, per GB-month (first 50 TB; the rate of S3 Standard)",
		Unit: "GB-month", Per: 1, USD: 0.023,
		Source:  "https://aws.amazon.com/s3/pricing/",
		Checked: "'Frequent Access Tier, First 50 TB / Month $0.023 per GB' in the US East (N. Virginia) storage table of the AWS S3 pricing page as copied in forattini-dev/s3db.js docs/attachments/aws-s3-costs-1-pricing.md (html2text copy of 2025-10-19, read 2026-11-23); same as S3 Standard's first 50 TB in that table",
	},
	{
		Key: PriceS3ITInfrequent, What: "S3 Intelligent-Tiering, Infrequent Access tier (objects not accessed for 30 consecutive days), per GB-month",
		Unit: "GB-month", Per: 1, USD: 0.0125,
		Source:  "https://aws.amazon.com/s3/pricing/",
		Checked: "'Infrequent Access Tier, All Storage / Month $0.0125 per GB' in the same copy of the AWS page (2025-10-19, read 2026-11-23); $0.0125/GB us-east-1 also in docs.stableapp.cloud 'S3: Add S3 Intelligent Tiering policy' (read 2026-11-23)",
	},
	{
		Key: PriceS3ITArchiveInstant, What: "S3 Intelligent-Tiering, Archive Instant Access tier (objects not accessed for 90 consecutive days), per GB-month",
		Unit: "GB-month", Per: 1, USD: 0.004,
		Source:  "https://aws.amazon.com/s3/pricing/",
		Checked: "'Archive Instant Access Tier, All Storage / Month $0.004 per GB' in the same copy of the AWS page (2025-10-19, read 2026-11-23); $0.004/GB us-east-1 also in docs.stableapp.cloud (read 2026-11-23)",
	},
	{
		Key: PriceS3ITMonitoring, What: "S3 Intelligent-Tiering monitoring and automation, per 1,000 objects over 128 KB per month (smaller objects are not monitored and not charged)",
		Unit: "objects monitored", Per: 1000, USD: 0.0025,
		Source:  "https://aws.amazon.com/s3/pricing/",
		Checked: "'Monitoring and Automation, All Storage / Month (Objects > 128 KB) $0.0025 per 1,000 objects' in the same copy of the AWS page (2025-10-19, read 2026-11-23), whose footnote says objects under 128 KB are not monitored and are charged at the Frequent Access rate; same rate in lastweekinaws.com 'S3 Intelligent-Tiering: breaking even on cost' and docs.stableapp.cloud",
	},
	{
		Key: PriceS3ITTransition, What: "S3 Lifecycle transition requests into S3 Intelligent-Tiering, per 1,000 requests (one per object moved)",
		Unit: "transition requests", Per: 1000, USD: 0.01,
		Source:  "https://aws.amazon.com/s3/pricing/",
		Checked: "column 'Lifecycle transition requests into (per 1,000 requests)', row 'S3 Intelligent-Tiering': $0.01, US East (N. Virginia) request table of the same copy of the AWS page (2025-10-19, read 2026-11-23); the page states the rate is charged by the storage class transitioned to. No second source names this class's rate: SaimShaikh/Cloud_Computing AWS/AWS_S3/AWS_S3_Pricing.md (us-east-1, verified 2025-08-29) gives $0.01 per 1,000 for lifecycle transitions in general only",
	},
	{
		Key: PriceECRStorage, What: "ECR private repository storage, per GB-month",
		Unit: "GB-month", Per: 1, USD: 0.10,
		Source:  "https://aws.amazon.com/ecr/pricing/",
		Checked: "cloudburn.io 'Amazon ECR pricing' (US East rates from the ECR pricing page, March 2026); same-region pulls are free",
	},
	{
		Key: PriceDataOut, What: "data transfer out to the internet (S3, ELB), per GB, up to 10 TB/month",
		Unit: "GB out", Per: 1, USD: 0.09,
		Source:  "https://aws.amazon.com/ec2/pricing/on-demand/#Data_Transfer",
		Checked: "$0.09/GB up to 10 TB after the account-wide 100 GB free per month, wring.co 'AWS data transfer pricing' (2026) and awsnegotiations.com 'Internet egress free tier guide' (May 2026); the free 100 GB is account-wide and not applied here",
	},
}

// PriceOf returns the table's entry for key; an unknown key is a programming error.
func PriceOf(key string) Price {
	for _, p := range Prices {
		if p.Key == key {
			return p
		}
	}
	panic("cost: no price for " + key)
}
