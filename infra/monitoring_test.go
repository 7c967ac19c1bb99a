package infra

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Every alarm notifies the alarm topic, when it fires and when it clears.
func TestAlarmsNotifyTheTopic(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		want := []string{"alb-5xx-rate", "no-healthy-targets", "tasks-restarting", "unhealthy-targets"}
		var got []string
		for _, a := range r.ByType(tMetricAlarm) {
			got = append(got, a.Name)
			for _, k := range []string{"alarmActions", "okActions"} {
				if actions := stringList(a.Inputs[k]); len(actions) != 1 || !strings.HasPrefix(actions[0], "arn:aws:sns:") || !slices.Contains(a.DependsOn, "alarms") {
					t.Errorf("alarm %s %s = %v, want the alarm topic", a.Name, k, actions)
				}
			}
			if a.InputString("alarmDescription") == "" {
				t.Errorf("alarm %s says nothing about what it means", a.Name)
			}
		}
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("missing alarm %s (have %v)", w, got)
			}
		}
		if r.outputs["alarmTopicArn"] == "" || !strings.HasPrefix(r.outputs["alarmTopicArn"], "arn:aws:sns:") {
			t.Errorf("alarmTopicArn output %q", r.outputs["alarmTopicArn"])
		}
	})
}

// The thresholds are the documented ones, on the right metrics and dimensions.
func TestAlarmThresholds(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		rate := r.one(t, tMetricAlarm, "alb-5xx-rate")
		queries, _ := rate.Input("metricQueries")
		var expr string
		metrics := map[string]bool{}
		for _, m := range objects(t, "alb5xxRate.metricQueries", queries) {
			if e, ok := m["expression"].(string); ok {
				expr = e
			}
			if mm, ok := m["metric"].(map[string]any); ok {
				name, _ := mm["metricName"].(string)
				metrics[name] = true
				expectLike(t, "alb5xxRate.metricQueries["+name+"]", mm, map[string]any{
					"dimensions": map[string]any{"LoadBalancer": satisfies("the load balancer", func(v any) bool { return v != nil && v != "" })},
				})
			}
		}
		for _, m := range []string{"RequestCount", "HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count"} {
			if !metrics[m] {
				t.Errorf("5xx rate does not read %s", m)
			}
		}
		if !strings.Contains(expr, fmt.Sprintf(">= %d", error5xxMinRequests)) || !strings.Contains(expr, "100 *") {
			t.Errorf("5xx rate expression %q", expr)
		}
		check := func(name, op string, threshold float64, periods int, missing string) {
			a := r.one(t, tMetricAlarm, name)
			th, _ := a.Input("threshold")
			ep, _ := a.Input("evaluationPeriods")
			if a.InputString("comparisonOperator") != op || th != threshold || ep != float64(periods) || a.InputString("treatMissingData") != missing {
				t.Errorf("alarm %s: %s %v over %v periods, missing data %s; want %s %v over %d, %s",
					name, a.InputString("comparisonOperator"), th, ep, a.InputString("treatMissingData"), op, threshold, periods, missing)
			}
		}
		check("alb-5xx-rate", "GreaterThanThreshold", error5xxPercent, error5xxMinutes, "notBreaching")
		check("unhealthy-targets", "GreaterThanThreshold", 0, unhealthyMinutes, "notBreaching")
		check("no-healthy-targets", "LessThanThreshold", 1, noHealthyMinutes, "breaching")
		check("tasks-restarting", "GreaterThanThreshold", 0, taskShortfallMinutes, "breaching")
		for _, name := range []string{"unhealthy-targets", "no-healthy-targets"} {
			a := r.one(t, tMetricAlarm, name)
			if a.InputString("namespace") != "AWS/ApplicationELB" || a.InputString("dimensions.TargetGroup") == "" || a.InputString("dimensions.LoadBalancer") == "" {
				t.Errorf("alarm %s is not on the target group: %v", name, a.Inputs)
			}
		}
		tasks := r.one(t, tMetricAlarm, "tasks-restarting")
		if text := fmt.Sprint(tasks.Inputs["metricQueries"]); !strings.Contains(text, "RunningTaskCount") || !strings.Contains(text, "DesiredTaskCount") ||
			!strings.Contains(text, r.outputs["serviceName"]) || !strings.Contains(text, r.outputs["clusterName"]) {
			t.Errorf("task alarm does not compare the service's running and desired tasks: %s", text)
		}
	})
}

// FSBP SNS.1: the alarm topic is encrypted with a KMS key that rotates and that CloudWatch (and
// only on this account's behalf) may use to publish.
func TestAlarmTopicIsEncrypted(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		topic := r.one(t, tTopic, "alarms")
		if !strings.HasPrefix(topic.InputString("kmsMasterKeyId"), "arn:aws:kms:") || !slices.Contains(topic.DependsOn, "alarms") {
			t.Errorf("alarm topic key %q, want the stack's alarms key", topic.InputString("kmsMasterKeyId"))
		}
		key := r.one(t, tKmsKey, "alarms")
		if v, _ := key.Input("enableKeyRotation"); v != true {
			t.Error("alarm key rotation is off")
		}
		doc := parsePolicy(t, "alarm key policy", key.InputString("policy"))
		cloudwatch := false
		for _, s := range doc.Statement {
			if fmt.Sprint(s.Principal) == "map[Service:cloudwatch.amazonaws.com]" {
				cloudwatch = slices.Contains(stringList(s.Action), "kms:GenerateDataKey") && slices.Contains(stringList(s.Action), "kms:Decrypt") &&
					fmt.Sprint(s.Condition["StringEquals"]["aws:SourceAccount"]) == "123456789012"
			}
			if p := fmt.Sprint(s.Principal); s.Effect == "Allow" && p != "map[Service:cloudwatch.amazonaws.com]" && p != "map[AWS:arn:aws:iam::123456789012:root]" {
				t.Errorf("alarm key policy allows %s", p)
			}
		}
		if !cloudwatch {
			t.Error("CloudWatch cannot encrypt alarm notifications for this account: alarms would never arrive")
		}
	})
}

// alarmEmails subscribes each address; none subscribes nobody.
func TestAlarmSubscribersFollowConfig(t *testing.T) {
	for stack, want := range map[string][]string{"prod": {"synapseeng@sagebase.org"}, "dev": nil} {
		r := stackRun(t, stack)
		var got []string
		for _, sub := range r.ByType(tTopicSub) {
			if sub.InputString("protocol") != "email" || !slices.Contains(sub.DependsOn, "alarms") {
				t.Errorf("%s subscription %s: %v", stack, sub.Name, sub.Inputs)
			}
			got = append(got, sub.InputString("endpoint"))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s subscribers %v, want %v", stack, got, want)
		}
	}
	r := withOverrides(t, "dev", map[string]string{"alarmEmails": "a@sagebase.org, b@sagebase.org"})
	if n := len(r.ByType(tTopicSub)); n != 2 {
		t.Errorf("two addresses give %d subscriptions", n)
	}
}

// The dashboard shows pushes, pulls, bytes, latency and task count, for this stack's resources.
func TestDashboard(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		d := r.one(t, tDashboard, "registry")
		var body struct {
			Widgets []struct {
				Type       string
				Properties map[string]any
			}
		}
		if err := json.Unmarshal([]byte(d.InputString("dashboardBody")), &body); err != nil {
			t.Fatalf("dashboard body: %v", err)
		}
		text := d.InputString("dashboardBody")
		for _, want := range []string{"pushes", "pulls", "ProcessedBytes", "TargetResponseTime", "RunningTaskCount", r.outputs["logGroupName"], r.outputs["serviceName"]} {
			if !strings.Contains(text, want) {
				t.Errorf("dashboard does not show %s", want)
			}
		}
		if len(body.Widgets) < 4 {
			t.Errorf("%d widgets", len(body.Widgets))
		}
	})
}
