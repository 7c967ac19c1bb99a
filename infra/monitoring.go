package infra

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Alarm thresholds; docs/monitoring.md gives the reasoning behind each.
const (
	// alarmPeriodSeconds is the period of every alarm: one minute is the finest ALB and Container
	// Insights metrics have.
	alarmPeriodSeconds = 60
	// error5xxPercent over error5xxMinutes consecutive minutes: docker clients retry a failed blob
	// request, so an isolated 5xx is noise; 5 % for five minutes is a real outage of a task or S3.
	error5xxPercent = 5
	error5xxMinutes = 5
	// error5xxMinRequests: below this many requests a minute a single 5xx would be a large rate.
	error5xxMinRequests = 20
	// unhealthyMinutes: a task failing its health check this long is neither starting (the grace
	// period is 120 s) nor being drained.
	unhealthyMinutes = 5
	// noHealthyMinutes: with no healthy target every request fails; page after two minutes.
	noHealthyMinutes = 2
	// taskShortfallMinutes: fewer running tasks than desired for this long means tasks keep
	// stopping (a crash loop, a failing image pull) rather than one being replaced, which takes
	// one to two minutes.
	taskShortfallMinutes = 10
)

// Monitoring is what other concerns need: the alarm topic, so their alarms (for example the
// Synapse notification path in notifications.go) notify the same subscribers.
type Monitoring struct {
	AlarmTopicArn pulumi.StringOutput
}

type monitoringInputs struct {
	lb      *LoadBalancer
	service *Service
	// alarmTopicArn is the topic from newAlarmTopic, declared first so the notification queues'
	// alarms can use it too.
	alarmTopicArn pulumi.StringOutput
}

// newMonitoring declares the alarm topic and its subscribers, the alarms on the load balancer and
// the service, and the dashboard.
func newMonitoring(s *scope, in monitoringInputs) (*Monitoring, error) {
	topicArn := in.alarmTopicArn
	lbDims := pulumi.StringMap{"LoadBalancer": in.lb.ArnSuffix}
	tgDims := pulumi.StringMap{"LoadBalancer": in.lb.ArnSuffix, "TargetGroup": in.lb.TargetGroupArnSuffix}
	svcDims := pulumi.StringMap{"ClusterName": in.service.ClusterName, "ServiceName": in.service.ServiceName}
	metric := func(id, namespace, name, stat string, dims pulumi.StringMap) cloudwatch.MetricAlarmMetricQueryArgs {
		return cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String(id), ReturnData: pulumi.Bool(false),
			Metric: &cloudwatch.MetricAlarmMetricQueryMetricArgs{Namespace: pulumi.String(namespace), MetricName: pulumi.String(name),
				Stat: pulumi.String(stat), Period: pulumi.Int(alarmPeriodSeconds), Dimensions: dims}}
	}
	alarms := []struct {
		name string
		args cloudwatch.MetricAlarmArgs
	}{
		{"alb-5xx-rate", cloudwatch.MetricAlarmArgs{
			AlarmDescription: pulumi.String(fmt.Sprintf("More than %d %% of requests got a 5xx (load balancer or registry) for %d minutes", error5xxPercent, error5xxMinutes)),
			MetricQueries: cloudwatch.MetricAlarmMetricQueryArray{
				metric("requests", "AWS/ApplicationELB", "RequestCount", "Sum", lbDims),
				metric("elb5xx", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Sum", lbDims),
				metric("target5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", lbDims),
				cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String("rate"), ReturnData: pulumi.Bool(true), Label: pulumi.String("5xx %"),
					Expression: pulumi.String(fmt.Sprintf("IF(FILL(requests, 0) >= %d, 100 * (FILL(elb5xx, 0) + FILL(target5xx, 0)) / requests, 0)", error5xxMinRequests))},
			},
			ComparisonOperator: pulumi.String("GreaterThanThreshold"),
			Threshold:          pulumi.Float64(error5xxPercent),
			EvaluationPeriods:  pulumi.Int(error5xxMinutes),
			TreatMissingData:   pulumi.String("notBreaching"),
		}},
		{"unhealthy-targets", cloudwatch.MetricAlarmArgs{
			AlarmDescription:   pulumi.String(fmt.Sprintf("A registry task failed its health check for %d minutes", unhealthyMinutes)),
			Namespace:          pulumi.String("AWS/ApplicationELB"),
			MetricName:         pulumi.String("UnHealthyHostCount"),
			Dimensions:         tgDims,
			Statistic:          pulumi.String("Maximum"),
			Period:             pulumi.Int(alarmPeriodSeconds),
			ComparisonOperator: pulumi.String("GreaterThanThreshold"),
			Threshold:          pulumi.Float64(0),
			EvaluationPeriods:  pulumi.Int(unhealthyMinutes),
			TreatMissingData:   pulumi.String("notBreaching"),
		}},
		{"no-healthy-targets", cloudwatch.MetricAlarmArgs{
			AlarmDescription:   pulumi.String(fmt.Sprintf("No healthy registry task for %d minutes: every request fails", noHealthyMinutes)),
			Namespace:          pulumi.String("AWS/ApplicationELB"),
			MetricName:         pulumi.String("HealthyHostCount"),
			Dimensions:         tgDims,
			Statistic:          pulumi.String("Minimum"),
			Period:             pulumi.Int(alarmPeriodSeconds),
			ComparisonOperator: pulumi.String("LessThanThreshold"),
			Threshold:          pulumi.Float64(1),
			EvaluationPeriods:  pulumi.Int(noHealthyMinutes),
			// No data from the target group means nothing reports healthy.
			TreatMissingData: pulumi.String("breaching"),
		}},
		{"tasks-restarting", cloudwatch.MetricAlarmArgs{
			AlarmDescription: pulumi.String(fmt.Sprintf("Fewer registry tasks running than desired for %d minutes: tasks keep stopping", taskShortfallMinutes)),
			MetricQueries: cloudwatch.MetricAlarmMetricQueryArray{
				metric("running", "ECS/ContainerInsights", "RunningTaskCount", "Minimum", svcDims),
				metric("desired", "ECS/ContainerInsights", "DesiredTaskCount", "Maximum", svcDims),
				cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String("shortfall"), ReturnData: pulumi.Bool(true), Label: pulumi.String("tasks missing"),
					Expression: pulumi.String("FILL(desired, 0) - FILL(running, 0)")},
			},
			ComparisonOperator: pulumi.String("GreaterThanThreshold"),
			Threshold:          pulumi.Float64(0),
			EvaluationPeriods:  pulumi.Int(taskShortfallMinutes),
			TreatMissingData:   pulumi.String("breaching"),
		}},
	}
	for _, a := range alarms {
		if err := newAlarm(s, a.name, a.args, topicArn); err != nil {
			return nil, err
		}
	}
	if err := newDashboard(s, in); err != nil {
		return nil, err
	}
	return &Monitoring{AlarmTopicArn: topicArn}, nil
}

// newAlarmTopic declares the SNS topic every alarm notifies, encrypted with a key of the stack
// (CloudWatch cannot publish to a topic under the AWS-managed SNS key, which only SNS's callers
// can use), and subscribes the configured e-mail addresses.
func newAlarmTopic(s *scope) (pulumi.StringOutput, error) {
	account := callerAccountID(s)
	key, err := kms.NewKey(s.ctx, s.name("alarms"), &kms.KeyArgs{
		Description:       pulumi.String("encrypts the registry's alarm topic"),
		EnableKeyRotation: pulumi.Bool(true),
		Policy: policyJSON(account, func(accountID string) PolicyDocument {
			return policy(
				// AWS's default key policy: the account's IAM policies decide who administers the key.
				PolicyStatement{Sid: "AccountAdministersTheKey", Effect: "Allow", Principal: map[string]any{"AWS": "arn:aws:iam::" + accountID + ":root"},
					Action: []string{"kms:*"}, Resource: []string{"*"}},
				// CloudWatch encrypts the notifications it publishes, for this account's alarms only.
				PolicyStatement{Sid: "CloudWatchPublishesAlarms", Effect: "Allow", Principal: map[string]any{"Service": "cloudwatch.amazonaws.com"},
					Action: []string{"kms:Decrypt", "kms:GenerateDataKey"}, Resource: []string{"*"},
					Condition: map[string]map[string]string{"StringEquals": {"aws:SourceAccount": accountID}}},
			)
		}),
	}, s.opts("alarms")...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	topic, err := sns.NewTopic(s.ctx, s.name("alarms"), &sns.TopicArgs{
		KmsMasterKeyId: key.Arn,
	}, s.opts("alarms")...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	for i, email := range s.cfg.Alarms.Emails {
		if _, err := sns.NewTopicSubscription(s.ctx, s.name(fmt.Sprintf("alarms-email-%d", i+1)), &sns.TopicSubscriptionArgs{
			Topic:    topic.Arn,
			Protocol: pulumi.String("email"),
			Endpoint: pulumi.String(email),
		}, s.opts(fmt.Sprintf("alarms-email-%d", i+1))...); err != nil {
			return pulumi.StringOutput{}, err
		}
	}
	return topic.Arn, nil
}

// dashboardWidget is one widget of a CloudWatch dashboard body (AWS "Dashboard body structure").
type dashboardWidget struct {
	Type       string         `json:"type"`
	X          int            `json:"x"`
	Y          int            `json:"y"`
	Width      int            `json:"width"`
	Height     int            `json:"height"`
	Properties map[string]any `json:"properties"`
}

// newDashboard shows pushes and pulls (from the registry's request log), bytes, latency and the
// task count.
func newDashboard(s *scope, in monitoringInputs) error {
	body := resolveNamed(dashboardInputs{
		LoadBalancer: in.lb.ArnSuffix, TargetGroup: in.lb.TargetGroupArnSuffix,
		Cluster: in.service.ClusterName, Service: in.service.ServiceName, LogGroup: in.service.LogGroupName,
	}, func(v dashboardValues) (string, error) {
		lbName, tgName, cluster, service, logGroup := v.LoadBalancer, v.TargetGroup, v.Cluster, v.Service, v.LogGroup
		region := s.cfg.Region
		metrics := func(title string, stat string, lines ...[]any) map[string]any {
			return map[string]any{"title": title, "region": region, "stat": stat, "period": 60, "view": "timeSeries", "metrics": lines}
		}
		// The registry logs each request as JSON with http.request.method and http.request.uri;
		// a manifest PUT is one push, a manifest GET one pull.
		logs := func(title, query string) map[string]any {
			return map[string]any{"title": title, "region": region, "view": "timeSeries",
				"query": fmt.Sprintf("SOURCE '%s' | %s", logGroup, query)}
		}
		widgets := []dashboardWidget{
			{"log", 0, 0, 12, 6, logs("Pushes and pulls (manifests per 5 minutes)",
				`filter ispresent(http.request.uri) and http.request.uri like /\/manifests\// | stats sum(http.request.method = "PUT") as pushes, sum(http.request.method = "GET") as pulls by bin(5m)`)},
			{"metric", 12, 0, 12, 6, metrics("Bytes through the load balancer", "Sum",
				[]any{"AWS/ApplicationELB", "ProcessedBytes", "LoadBalancer", lbName})},
			{"metric", 0, 6, 12, 6, metrics("Latency (target response time, s)", "p50",
				[]any{"AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", lbName, map[string]any{"stat": "p50"}},
				[]any{"...", map[string]any{"stat": "p99"}})},
			{"metric", 12, 6, 12, 6, metrics("Tasks", "Average",
				[]any{"ECS/ContainerInsights", "RunningTaskCount", "ClusterName", cluster, "ServiceName", service},
				[]any{".", "DesiredTaskCount", ".", ".", ".", "."},
				[]any{"AWS/ApplicationELB", "HealthyHostCount", "TargetGroup", tgName, "LoadBalancer", lbName})},
			{"metric", 0, 12, 12, 6, metrics("Requests and 5xx", "Sum",
				[]any{"AWS/ApplicationELB", "RequestCount", "LoadBalancer", lbName},
				[]any{".", "HTTPCode_Target_5XX_Count", ".", "."},
				[]any{".", "HTTPCode_ELB_5XX_Count", ".", "."})},
		}
		b, err := json.Marshal(map[string]any{"widgets": widgets})
		return string(b), err
	})
	_, err := cloudwatch.NewDashboard(s.ctx, s.name("registry"), &cloudwatch.DashboardArgs{
		DashboardName: pulumi.String(s.names.qualified()),
		DashboardBody: body,
	}, s.opts("registry")...)
	return err
}

// dashboardInputs are the names the dashboard's widgets query, resolved into dashboardValues (see
// resolveNamed).
type dashboardInputs struct {
	LoadBalancer, TargetGroup, Cluster, Service, LogGroup pulumi.StringInput
}

type dashboardValues struct {
	LoadBalancer, TargetGroup, Cluster, Service, LogGroup string
}

func (dashboardInputs) ElementType() reflect.Type { return reflect.TypeFor[dashboardValues]() }

// newAlarm declares one alarm that notifies topicArn when it fires and when it clears (no
// actions when topicArn is nil).
func newAlarm(s *scope, name string, args cloudwatch.MetricAlarmArgs, topicArn pulumi.StringInput) error {
	if topicArn != nil {
		args.AlarmActions = pulumi.Array{topicArn}
		args.OkActions = pulumi.Array{topicArn}
	}
	_, err := cloudwatch.NewMetricAlarm(s.ctx, s.name(name), &args, s.opts(name)...)
	return err
}
