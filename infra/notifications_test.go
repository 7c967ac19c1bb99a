package infra

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/Sage-Bionetworks/synapse-docker-registry/image/relay"
)

const (
	tQueue              = "aws:sqs/queue:Queue"
	tRedriveAllowPolicy = "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy"
	tListenerRule       = "aws:lb/listenerRule:ListenerRule"
)

// The notification queues: encrypted, kept 14 days, the queue redriven to its dead-letter
// queue (and only it may), the relay's environment naming both, the task role reaching exactly
// these two queues with exactly the relay's actions, and alarms on dead letters and delay.
func TestNotificationQueues(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		queue := r.one(t, tQueue, "notifications")
		dlq := r.one(t, tQueue, "notifications-dlq")
		// The mocks name a queue after its logical name, as AWS auto-naming prefixes it.
		region := r.config("aws:region")
		queueURL, dlqURL := "https://sqs."+region+".amazonaws.com/123456789012/notifications", "https://sqs."+region+".amazonaws.com/123456789012/notifications-dlq"
		queueArn, dlqArn := "arn:aws:sqs:"+region+":123456789012:notifications", "arn:aws:sqs:"+region+":123456789012:notifications-dlq"
		for _, q := range []struct {
			name string
			res  map[string]any
		}{{"notifications", queue.Inputs}, {"notifications-dlq", dlq.Inputs}} {
			if q.res["sqsManagedSseEnabled"] != true && q.res["kmsMasterKeyId"] == nil {
				t.Errorf("%s is not encrypted at rest", q.name)
			}
			if q.res["messageRetentionSeconds"] != float64(14*24*3600) {
				t.Errorf("%s keeps messages %v s, want 14 days (SQS's maximum)", q.name, q.res["messageRetentionSeconds"])
			}
		}
		var redrive struct {
			DeadLetterTargetArn string `json:"deadLetterTargetArn"`
			MaxReceiveCount     int    `json:"maxReceiveCount"`
		}
		if err := json.Unmarshal([]byte(queue.InputString("redrivePolicy")), &redrive); err != nil || redrive.DeadLetterTargetArn != dlqArn {
			t.Errorf("redrive policy %q: %v, want to %s", queue.InputString("redrivePolicy"), err, dlqArn)
		}
		// SQS allows 1 to 1,000; a day of Synapse failing at the relay's 15-minute backoff cap.
		if redrive.MaxReceiveCount < 50 || redrive.MaxReceiveCount > 1000 {
			t.Errorf("maxReceiveCount %d", redrive.MaxReceiveCount)
		}
		if r.outputs["notificationQueueUrl"] != queueURL || r.outputs["notificationDeadLetterQueueUrl"] != dlqURL {
			t.Errorf("outputs %q %q, want the queues' URLs", r.outputs["notificationQueueUrl"], r.outputs["notificationDeadLetterQueueUrl"])
		}
		allow := r.one(t, tRedriveAllowPolicy, "notifications-dlq")
		if allow.InputString("queueUrl") != dlqURL || !strings.Contains(allow.InputString("redriveAllowPolicy"), `"byQueue"`) ||
			!strings.Contains(allow.InputString("redriveAllowPolicy"), queueArn) {
			t.Errorf("dead-letter queue's redrive allow policy %v", allow.Inputs)
		}

		env := nameValues(t, r.containers(t)[0], "environment", "value")
		if env[registryconfig.EnvNotificationQueue] != queueURL || env[registryconfig.EnvNotificationDLQ] != dlqURL {
			t.Errorf("the relay gets queue %q and dead-letter queue %q, want %q and %q",
				env[registryconfig.EnvNotificationQueue], env[registryconfig.EnvNotificationDLQ], queueURL, dlqURL)
		}

		pol := r.one(t, tRolePolicy, "task-notifications-policy")
		if !slices.Contains(pol.DependsOn, "task") || pol.InputString("role") == "" {
			t.Errorf("queue policy on role %q (depends on %v), want the task role", pol.InputString("role"), pol.DependsOn)
		}
		grants := map[string][]string{}
		for _, s := range parsePolicy(t, "task notifications policy", pol.InputString("policy")).Statement {
			if s.Effect != "Allow" {
				continue
			}
			for _, res := range stringList(s.Resource) {
				grants[res] = append(grants[res], stringList(s.Action)...)
			}
		}
		want := map[string][]string{
			queueArn: {"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:ReceiveMessage", "sqs:SendMessage"},
			dlqArn:   {"sqs:SendMessage"},
		}
		for res, actions := range grants {
			slices.Sort(actions)
			if !slices.Equal(actions, want[res]) {
				t.Errorf("task role may %v on %s, want %v", actions, res, want[res])
			}
		}
		if len(grants) != 2 {
			t.Errorf("task role reaches %d SQS resources, want exactly the two queues: %v", len(grants), grants)
		}
		svc := r.one(t, tService, "registry")
		if !slices.Contains(svc.DependsOn, "task-notifications-policy") {
			t.Errorf("tasks may start before they may use the queues: service depends on %v", svc.DependsOn)
		}

		alarms := map[string]map[string]any{}
		for _, a := range r.ByType(tMetricAlarm) {
			if a.InputString("namespace") == "AWS/SQS" {
				alarms[a.InputString("metricName")+" "+a.InputString("dimensions.QueueName")] = a.Inputs
			}
		}
		dead := alarms["ApproximateNumberOfMessagesVisible "+"notifications-dlq"]
		if dead == nil || dead["threshold"] != float64(0) || dead["comparisonOperator"] != "GreaterThanThreshold" {
			t.Errorf("no alarm on any dead letter: %v", alarms)
		}
		age := alarms["ApproximateAgeOfOldestMessage "+"notifications"]
		// Both notify the stack's alarm topic (monitoring.go), as every alarm of the stack does.
		topic := r.one(t, tMetricAlarm, "no-healthy-targets").Inputs["alarmActions"]
		for name, a := range map[string]map[string]any{"dead letters": dead, "delay": age} {
			if a == nil {
				continue
			}
			actions := stringList(a["alarmActions"])
			if len(actions) != 1 || !strings.Contains(actions[0], ":sns:") || !slices.Equal(actions, stringList(topic)) {
				t.Errorf("the %s alarm notifies %v, want the stack's alarm topic %v", name, actions, topic)
			}
		}
		if th, _ := age["threshold"].(float64); age == nil || th <= 0 || th > 600 || age["comparisonOperator"] != "GreaterThanThreshold" {
			t.Errorf("no alarm on notifications delayed for more than a few minutes: %v", alarms)
		}
	})
}

// Restarts of the notification relay, which its supervisor logs (image/relay,
// TestRelayCrashLosesNothing), are counted in the registry's log group and alarm when they repeat.
func TestRelayRestartsAlarm(t *testing.T) {
	const tLogMetricFilter = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
	forEachStack(t, func(t *testing.T, r *run) {
		want := `{ $.component = "notification-relay" && $.` + relay.RestartsField + ` >= 1 }`
		f := r.one(t, tLogMetricFilter, "notification-relay-restarts")
		if f.InputString("pattern") != want {
			t.Errorf("metric filter pattern %q, want %q (the supervisor's restart line)", f.InputString("pattern"), want)
		}
		if lg := r.one(t, tLogGroup, "registry"); f.InputString("logGroupName") == "" || f.InputString("logGroupName") != lg.InputString("name") {
			t.Errorf("metric filter on log group %q, want the registry's %q", f.InputString("logGroupName"), lg.InputString("name"))
		}
		a := r.one(t, tMetricAlarm, "notification-relay-restarts")
		if a.InputString("metricName") != f.InputString("metricTransformation.name") || a.InputString("namespace") != f.InputString("metricTransformation.namespace") {
			t.Errorf("alarm on %s/%s, filter publishes %s/%s", a.InputString("namespace"), a.InputString("metricName"),
				f.InputString("metricTransformation.namespace"), f.InputString("metricTransformation.name"))
		}
		if a.Inputs["threshold"] != float64(3) || a.InputString("statistic") != "Sum" || a.Inputs["period"] != float64(300) ||
			a.InputString("comparisonOperator") != "GreaterThanOrEqualToThreshold" {
			t.Errorf("relay restart alarm %v, want 3 or more restarts in 5 minutes", a.Inputs)
		}
		topic := r.one(t, tMetricAlarm, "no-healthy-targets").Inputs["alarmActions"]
		if !slices.Equal(stringList(a.Inputs["alarmActions"]), stringList(topic)) || len(stringList(topic)) != 1 {
			t.Errorf("relay restart alarm notifies %v, want the stack's alarm topic %v", a.Inputs["alarmActions"], topic)
		}
	})
}

// Only the registry host name reaches the registry: any other Host header (the ALB's DNS name
// among them) gets a clear 421, so every push Synapse hears of carries its registry host.
func TestLoadBalancerServesOnlyTheRegistryHost(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		host := r.config("registryHost")
		https := r.one(t, tListener, "https")
		if https.InputString("defaultActions[0].type") != "fixed-response" ||
			https.InputString("defaultActions[0].fixedResponse.statusCode") != strconv.Itoa(WrongHostStatus) ||
			!strings.Contains(https.InputString("defaultActions[0].fixedResponse.messageBody"), "https://"+host+"/") {
			t.Errorf("HTTPS listener default %v, want a fixed %d naming https://%s/", https.Inputs["defaultActions"], WrongHostStatus, host)
		}
		if n := len(https.InputString("defaultActions[0].fixedResponse.messageBody")); n > 1024 {
			t.Errorf("fixed response body of %d bytes; the ALB allows 1024", n)
		}
		rules := r.ByType(tListenerRule)
		if len(rules) != 1 {
			t.Fatalf("%d listener rules, want the registry host's only", len(rules))
		}
		rule := rules[0]
		values, _ := rule.Input("conditions[0].hostHeader.values")
		if !slices.Contains(rule.DependsOn, "https") || !slices.Contains(rule.DependsOn, "registry") || !slices.Equal(stringList(values), []string{host}) ||
			rule.InputString("actions[0].type") != "forward" || rule.InputString("actions[0].targetGroupArn") == "" {
			t.Errorf("listener rule %v, want Host == %s forwarded to the registry's target group", rule.Inputs, host)
		}
	})
}
