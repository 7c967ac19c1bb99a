package infra

import (
	"fmt"
	"reflect"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const (
	// IdleTimeoutSeconds must cover the longest silent stretch of a request. The worst one is the
	// final PUT of a 100 GB layer (Synapse's documented limit): the registry verifies the digest,
	// which may mean reading the layer back from S3 (100 GB at ~50 MB/s ≈ 2,000 s), then moves the
	// upload into place with a server-side multipart copy (≈ 300 s) before it answers. 3,600 s
	// leaves headroom under the ALB maximum of 4,000 s.
	IdleTimeoutSeconds = 3600
	// SSLPolicy allows TLS 1.3 and TLS 1.2 with forward-secret AEAD ciphers only.
	SSLPolicy = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
	// DesyncMitigationMode "strictest" rejects every request that is not RFC 7230 compliant;
	// docker clients send compliant requests only.
	DesyncMitigationMode = "strictest"
	// HealthCheckPath is the registry's health endpoint on HealthPort: it fails when the
	// storage-driver check against S3 fails, so a task that cannot reach its bucket leaves rotation.
	HealthCheckPath = "/debug/health"
	// deregistrationDelaySeconds is how long a task that is being replaced or scaled in keeps
	// serving the requests it has (ECS stops it only after the target has drained; a target with
	// no request in flight drains at once, so this costs nothing when no push is running). It is
	// the ALB's maximum, 3,600 s: docker sends a layer as one PATCH request, and a 100 GB layer at
	// the measured per-layer rate takes measuredLayerPushSeconds; the final PUT's silent
	// verification and copy are bounded by IdleTimeoutSeconds. Both fit.
	deregistrationDelaySeconds = 3600
	// albMaxDeregistrationDelaySeconds: the target group attribute's AWS limit (0-3600).
	albMaxDeregistrationDelaySeconds = 3600
	// longestLayerBytes: Synapse's documented limit for one layer.
	longestLayerBytes = 100e9
	// measuredLayerPushMiBps: docs/performance.md, "Push, 1 client: through the registry",
	// 322 MiB/s for one push of four layers at once, so 80 MiB/s per layer. With eight pushes on
	// one task (32 layers in flight) it is 321/32 = 10 MiB/s per layer: see saturatedLayerPushMiBps.
	measuredLayerPushMiBps = 322.0 / 4
	// saturatedLayerPushMiBps: per-layer rate of a task at its measured push capacity.
	saturatedLayerPushMiBps = 321.0 / 32
	// measuredLayerPushSeconds: one 100 GB layer at the measured per-layer rate (≈ 1,190 s).
	measuredLayerPushSeconds = longestLayerBytes / (measuredLayerPushMiBps * 1024 * 1024)
	accessLogPrefix          = "alb"
	// WrongHostStatus answers requests under any Host but the registry's: 421 Misdirected
	// Request (RFC 9110 15.5.20), "this server does not serve that name".
	WrongHostStatus = 421
)

// WrongHostMessage is the body of that answer (ALB fixed responses hold at most 1024 bytes).
func WrongHostMessage(registryHost string) string {
	return fmt.Sprintf("This load balancer serves the registry only as https://%s/ . Use that name: pushes under any other name would not be recorded in Synapse.\n", registryHost)
}

// LoadBalancer is what the service, autoscaling and DNS need from the ALB.
type LoadBalancer struct {
	DNSName        pulumi.StringOutput
	ZoneID         pulumi.StringOutput
	ArnSuffix      pulumi.StringOutput
	TargetGroupArn pulumi.StringOutput
	// TargetGroupArnSuffix feeds the request-count autoscaling metric.
	TargetGroupArnSuffix pulumi.StringOutput
	// Listeners must exist before the service registers targets.
	Listeners []pulumi.Resource
}

func newLoadBalancer(s *scope, network *Network, groups *SecurityGroups, certificateArn pulumi.StringOutput) (*LoadBalancer, error) {
	args := &lb.LoadBalancerArgs{
		LoadBalancerType:         pulumi.String("application"),
		Internal:                 pulumi.Bool(false),
		IpAddressType:            pulumi.String("ipv4"),
		Subnets:                  network.PublicSubnetIDs,
		SecurityGroups:           pulumi.StringArray{groups.LoadBalancer.ID()},
		IdleTimeout:              pulumi.Int(IdleTimeoutSeconds),
		DropInvalidHeaderFields:  pulumi.Bool(true),
		DesyncMitigationMode:     pulumi.String(DesyncMitigationMode),
		EnableDeletionProtection: pulumi.Bool(s.cfg.Protect),
		EnableHttp2:              pulumi.Bool(true),
	}
	var albOpts []pulumi.ResourceOption
	if s.cfg.LB.AccessLogs {
		bucket, policy, err := newAccessLogBucket(s)
		if err != nil {
			return nil, err
		}
		// AWS checks at creation that the ALB may write to the bucket: the policy must be there.
		albOpts = append(albOpts, pulumi.DependsOn([]pulumi.Resource{policy}))
		args.AccessLogs = &lb.LoadBalancerAccessLogsArgs{
			Bucket:  bucket,
			Prefix:  pulumi.String(accessLogPrefix),
			Enabled: pulumi.Bool(true),
		}
	}
	args.Name = pulumi.String(s.names.short("alb"))
	alb, err := lb.NewLoadBalancer(s.ctx, s.name("registry"), args, s.opts("registry", append(albOpts, s.keepAutoName("name")...)...)...)
	if err != nil {
		return nil, err
	}

	// TLS all the way: the ALB speaks HTTPS to the task (a HIPAA requirement); the task presents
	// a certificate generated at its start, which the ALB accepts without validating.
	tg, err := lb.NewTargetGroup(s.ctx, s.name("registry"), &lb.TargetGroupArgs{
		Name:                       pulumi.String(s.names.short("tg")),
		VpcId:                      network.VpcID,
		TargetType:                 pulumi.String("ip"),
		Protocol:                   pulumi.String("HTTPS"),
		ProtocolVersion:            pulumi.String("HTTP1"),
		Port:                       pulumi.Int(RegistryPort),
		DeregistrationDelay:        pulumi.Int(deregistrationDelaySeconds),
		LoadBalancingAlgorithmType: pulumi.String("least_outstanding_requests"),
		HealthCheck: &lb.TargetGroupHealthCheckArgs{
			Enabled:            pulumi.Bool(true),
			Protocol:           pulumi.String("HTTP"),
			Port:               pulumi.String(strconv.Itoa(HealthPort)),
			Path:               pulumi.String(HealthCheckPath),
			Matcher:            pulumi.String("200"),
			Interval:           pulumi.Int(15),
			Timeout:            pulumi.Int(5),
			HealthyThreshold:   pulumi.Int(2),
			UnhealthyThreshold: pulumi.Int(3),
		},
	}, s.opts("registry", s.keepAutoName("name")...)...)
	if err != nil {
		return nil, err
	}
	https, err := lb.NewListener(s.ctx, s.name("https"), &lb.ListenerArgs{
		LoadBalancerArn: alb.Arn,
		Port:            pulumi.Int(443),
		Protocol:        pulumi.String("HTTPS"),
		SslPolicy:       pulumi.String(SSLPolicy),
		CertificateArn:  certificateArn,
		// Only the registry host name reaches the registry (the rule below): Synapse skips,
		// silently, every push whose request.host is not its registry host, so a push through
		// the ALB's DNS name or any other name would succeed and never be recorded.
		DefaultActions: lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
			Type: pulumi.String("fixed-response"),
			FixedResponse: &lb.ListenerDefaultActionFixedResponseArgs{
				StatusCode:  pulumi.String(strconv.Itoa(WrongHostStatus)),
				ContentType: pulumi.String("text/plain"),
				MessageBody: pulumi.String(WrongHostMessage(s.cfg.Registry.Host)),
			},
		}},
	}, s.opts("https")...)
	if err != nil {
		return nil, err
	}
	hostRule, err := lb.NewListenerRule(s.ctx, s.name("registry-host"), &lb.ListenerRuleArgs{
		ListenerArn: https.Arn,
		Priority:    pulumi.Int(1),
		Conditions: lb.ListenerRuleConditionArray{&lb.ListenerRuleConditionArgs{
			HostHeader: &lb.ListenerRuleConditionHostHeaderArgs{Values: pulumi.StringArray{pulumi.String(s.cfg.Registry.Host)}},
		}},
		Actions: lb.ListenerRuleActionArray{&lb.ListenerRuleActionArgs{
			Type:           pulumi.String("forward"),
			TargetGroupArn: tg.Arn,
		}},
	}, s.opts("registry-host")...)
	if err != nil {
		return nil, err
	}
	redirect, err := lb.NewListener(s.ctx, s.name("http-redirect"), &lb.ListenerArgs{
		LoadBalancerArn: alb.Arn,
		Port:            pulumi.Int(80),
		Protocol:        pulumi.String("HTTP"),
		DefaultActions: lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
			Type: pulumi.String("redirect"),
			Redirect: &lb.ListenerDefaultActionRedirectArgs{
				Protocol:   pulumi.String("HTTPS"),
				Port:       pulumi.String("443"),
				StatusCode: pulumi.String("HTTP_301"),
			},
		}},
	}, s.opts("http-redirect")...)
	if err != nil {
		return nil, err
	}
	return &LoadBalancer{
		DNSName:              alb.DnsName,
		ZoneID:               alb.ZoneId,
		ArnSuffix:            alb.ArnSuffix,
		TargetGroupArn:       tg.Arn,
		TargetGroupArnSuffix: tg.ArnSuffix,
		Listeners:            []pulumi.Resource{https, redirect, hostRule},
	}, nil
}

// newAccessLogBucket creates the bucket the ALB writes its access logs to: hardened like every
// bucket of the stack, writable only by this region's load-balancer log delivery account, under
// this account's prefix; kept (and protected in production) when the stack is destroyed.
func newAccessLogBucket(s *scope) (pulumi.StringOutput, *s3.BucketPolicy, error) {
	bucket, err := s3.NewBucketV2(s.ctx, s.name("alb-access-logs"), &s3.BucketV2Args{
		BucketPrefix: pulumi.String(s.names.prefix("alb-logs", 37)),
		ForceDestroy: pulumi.Bool(false),
	}, s.opts("alb-access-logs", append(s.keepAutoName("bucket", "bucketPrefix"), pulumi.RetainOnDelete(true), pulumi.Protect(s.cfg.Protect))...)...)
	if err != nil {
		return pulumi.StringOutput{}, nil, err
	}
	// The regional Elastic Load Balancing account writes the logs (us-east-1 and the other
	// regions older than 2022 deliver this way).
	delivery := elb.GetServiceAccountOutput(s.ctx, elb.GetServiceAccountOutputArgs{}, s.invokeOpts()...)
	policy, err := hardenBucket(s, "alb-access-logs", bucket.Bucket, bucket.Arn,
		logDelivery{deliveryAccountArn: delivery.Arn(), accountID: callerAccountID(s)}, pulumi.RetainOnDelete(true))
	if err != nil {
		return pulumi.StringOutput{}, nil, err
	}
	_, err = s3.NewBucketLifecycleConfigurationV2(s.ctx, s.name("alb-access-logs"), &s3.BucketLifecycleConfigurationV2Args{
		Bucket: bucket.Bucket,
		Rules: s3.BucketLifecycleConfigurationV2RuleArray{&s3.BucketLifecycleConfigurationV2RuleArgs{
			Id:         pulumi.String("expire-access-logs"),
			Status:     pulumi.String("Enabled"),
			Filter:     &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("")},
			Expiration: &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(s.cfg.Service.LogRetentionDays)},
		}},
	}, s.opts("alb-access-logs", pulumi.RetainOnDelete(true))...)
	if err != nil {
		return pulumi.StringOutput{}, nil, err
	}
	return bucket.Bucket, policy, nil
}

// logDelivery lets the regional Elastic Load Balancing account write this account's access logs
// under the log prefix ("Enable access logs for your Application Load Balancer").
type logDelivery struct {
	deliveryAccountArn, accountID pulumi.StringOutput
}

func (d logDelivery) policy(bucketArn pulumi.StringOutput, baseline func(bucketArn string) []PolicyStatement) pulumi.StringOutput {
	return policyJSONFrom(logDeliveryInputs{BucketArn: bucketArn, DeliveryAccountArn: d.deliveryAccountArn, AccountID: d.accountID},
		func(v logDeliveryValues) PolicyDocument {
			return policy(append(baseline(v.BucketArn), PolicyStatement{
				Sid:       "AllowLoadBalancerLogDelivery",
				Effect:    "Allow",
				Principal: map[string]any{"AWS": v.DeliveryAccountArn},
				Action:    []string{"s3:PutObject"},
				Resource:  []string{fmt.Sprintf("%s/%s/AWSLogs/%s/*", v.BucketArn, accessLogPrefix, v.AccountID)},
			})...)
		})
}

// logDeliveryInputs resolve into logDeliveryValues (see resolveNamed).
type logDeliveryInputs struct{ BucketArn, DeliveryAccountArn, AccountID pulumi.StringInput }

type logDeliveryValues struct{ BucketArn, DeliveryAccountArn, AccountID string }

func (logDeliveryInputs) ElementType() reflect.Type { return reflect.TypeFor[logDeliveryValues]() }
