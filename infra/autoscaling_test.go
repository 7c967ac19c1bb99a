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
		minCount, _ := strconv.Atoi(r.config("minCount"))
		maxCount, _ := strconv.Atoi(r.config("maxCount"))
		expectLike(t, "scalableTarget", target.Inputs, map[string]any{
			"minCapacity": minCount,
			"maxCapacity": maxCount,
			"resourceId":  fmt.Sprintf("service/%s/%s", r.outputs["clusterName"], r.outputs["serviceName"]),
		})
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
