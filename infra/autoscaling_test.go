package infra

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"
)

func TestAutoscaling(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		target := r.one(t, tScalingTarget, "registry")
		if strconv.Itoa(int(target.Inputs["minCapacity"].(float64))) != r.config("minCount") ||
			strconv.Itoa(int(target.Inputs["maxCapacity"].(float64))) != r.config("maxCount") {
			t.Errorf("scaling %v..%v", target.Inputs["minCapacity"], target.Inputs["maxCapacity"])
		}
		if want := fmt.Sprintf("service/%s/%s", r.outputs["clusterName"], r.outputs["serviceName"]); target.InputString("resourceId") != want {
			t.Errorf("scalable target %q, want %q", target.InputString("resourceId"), want)
		}
		metrics := map[string]string{}
		for _, p := range r.ByType(tScalingPolicy) {
			metrics[p.InputString("targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType")] =
				p.InputString("targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.resourceLabel")
		}
		for _, m := range []string{"ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization", "ALBRequestCountPerTarget"} {
			if _, ok := metrics[m]; !ok {
				t.Errorf("no target tracking on %s", m)
			}
		}
		if !regexp.MustCompile(`^app/.+/.+/targetgroup/.+/.+$`).MatchString(metrics["ALBRequestCountPerTarget"]) {
			t.Errorf("request-count label %q is not <alb arn suffix>/<target group arn suffix>", metrics["ALBRequestCountPerTarget"])
		}
	})
}
