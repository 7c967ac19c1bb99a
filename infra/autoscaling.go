package infra

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/appautoscaling"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Target-tracking goals. CPU and memory leave headroom for bursts of pushes (TLS and hashing are
// CPU-bound; each upload buffers a chunk in memory).
const (
	cpuTargetPercent    = 60
	memoryTargetPercent = 70
	scaleOutCooldown    = 60
	scaleInCooldown     = 300
)

// newAutoscaling lets the service move between minCount and maxCount on CPU, memory and ALB
// requests per target, whichever asks for more tasks.
func newAutoscaling(s *scope, service *Service, lb *LoadBalancer) error {
	cfg := s.cfg.Service
	target, err := appautoscaling.NewTarget(s.ctx, s.name("registry"), &appautoscaling.TargetArgs{
		ServiceNamespace:  pulumi.String("ecs"),
		ScalableDimension: pulumi.String("ecs:service:DesiredCount"),
		ResourceId:        pulumi.Sprintf("service/%s/%s", service.ClusterName, service.ServiceName),
		MinCapacity:       pulumi.Int(cfg.MinCount),
		MaxCapacity:       pulumi.Int(cfg.MaxCount),
	}, s.opts("registry")...)
	if err != nil {
		return err
	}
	policies := []struct {
		name        string
		metric      string
		target      int
		resourceTag pulumi.StringPtrInput
	}{
		{"cpu", "ECSServiceAverageCPUUtilization", cpuTargetPercent, nil},
		{"memory", "ECSServiceAverageMemoryUtilization", memoryTargetPercent, nil},
		{"requests", "ALBRequestCountPerTarget", cfg.RequestsPerTarget,
			pulumi.Sprintf("%s/%s", lb.ArnSuffix, lb.TargetGroupArnSuffix).ToStringPtrOutput()},
	}
	for _, p := range policies {
		_, err := appautoscaling.NewPolicy(s.ctx, s.name("registry-"+p.name), &appautoscaling.PolicyArgs{
			PolicyType:        pulumi.String("TargetTrackingScaling"),
			ServiceNamespace:  target.ServiceNamespace,
			ScalableDimension: target.ScalableDimension,
			ResourceId:        target.ResourceId,
			TargetTrackingScalingPolicyConfiguration: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs{
				TargetValue:      pulumi.Float64(float64(p.target)),
				ScaleInCooldown:  pulumi.Int(scaleInCooldown),
				ScaleOutCooldown: pulumi.Int(scaleOutCooldown),
				PredefinedMetricSpecification: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs{
					PredefinedMetricType: pulumi.String(p.metric),
					ResourceLabel:        p.resourceTag,
				},
			},
		}, s.opts("registry-"+p.name)...)
		if err != nil {
			return err
		}
	}
	return nil
}
