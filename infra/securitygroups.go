package infra

import (
	"fmt"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Ports of the registry container, from the image's contract (registryconfig).
const (
	RegistryPort = registryconfig.RegistryPort // HTTPS, the registry API; the only port the ALB routes traffic to
	HealthPort   = registryconfig.HealthPort   // HTTP, /debug/health and /metrics; only the ALB's health checks reach it
)

// SecurityGroups of the load balancer and of the tasks.
type SecurityGroups struct {
	LoadBalancer *ec2.SecurityGroup
	Task         *ec2.SecurityGroup
}

// newSecurityGroups declares the two groups with one resource per rule (no inline rules, so AWS's
// default allow-all egress is removed and every permitted flow is listed here):
// internet -> ALB on 443 and 80; ALB -> tasks on the registry and health ports only;
// tasks -> HTTPS out (S3 through the gateway endpoint, ECR, Secrets Manager, logs, Synapse).
func newSecurityGroups(s *scope, network *Network) (*SecurityGroups, error) {
	alb, err := ec2.NewSecurityGroup(s.ctx, s.name("alb"), &ec2.SecurityGroupArgs{
		VpcId:       network.VpcID,
		Description: pulumi.String("docker registry load balancer: HTTPS and HTTP->HTTPS redirect from the internet"),
	}, s.opts("alb")...)
	if err != nil {
		return nil, err
	}
	task, err := ec2.NewSecurityGroup(s.ctx, s.name("task"), &ec2.SecurityGroupArgs{
		VpcId:       network.VpcID,
		Description: pulumi.String("docker registry tasks: traffic from the load balancer only"),
	}, s.opts("task")...)
	if err != nil {
		return nil, err
	}

	// The load balancer is IPv4-only, so IPv4 rules cover the whole internet.
	for _, port := range []int{443, 80} {
		if _, err := vpc.NewSecurityGroupIngressRule(s.ctx, s.name(fmt.Sprintf("alb-in-%d", port)), &vpc.SecurityGroupIngressRuleArgs{
			SecurityGroupId: alb.ID(),
			IpProtocol:      pulumi.String("tcp"),
			FromPort:        pulumi.Int(port),
			ToPort:          pulumi.Int(port),
			CidrIpv4:        pulumi.String("0.0.0.0/0"),
			Description:     pulumi.String(fmt.Sprintf("internet to load balancer on %d", port)),
		}, s.opts(fmt.Sprintf("alb-in-%d", port))...); err != nil {
			return nil, err
		}
	}
	for _, port := range []int{RegistryPort, HealthPort} {
		if _, err := vpc.NewSecurityGroupEgressRule(s.ctx, s.name(fmt.Sprintf("alb-out-task-%d", port)), &vpc.SecurityGroupEgressRuleArgs{
			SecurityGroupId:           alb.ID(),
			IpProtocol:                pulumi.String("tcp"),
			FromPort:                  pulumi.Int(port),
			ToPort:                    pulumi.Int(port),
			ReferencedSecurityGroupId: task.ID(),
			Description:               pulumi.String(fmt.Sprintf("load balancer to tasks on %d", port)),
		}, s.opts(fmt.Sprintf("alb-out-task-%d", port))...); err != nil {
			return nil, err
		}
		if _, err := vpc.NewSecurityGroupIngressRule(s.ctx, s.name(fmt.Sprintf("task-in-alb-%d", port)), &vpc.SecurityGroupIngressRuleArgs{
			SecurityGroupId:           task.ID(),
			IpProtocol:                pulumi.String("tcp"),
			FromPort:                  pulumi.Int(port),
			ToPort:                    pulumi.Int(port),
			ReferencedSecurityGroupId: alb.ID(),
			Description:               pulumi.String(fmt.Sprintf("load balancer to tasks on %d", port)),
		}, s.opts(fmt.Sprintf("task-in-alb-%d", port))...); err != nil {
			return nil, err
		}
	}
	if _, err := vpc.NewSecurityGroupEgressRule(s.ctx, s.name("task-out-https"), &vpc.SecurityGroupEgressRuleArgs{
		SecurityGroupId: task.ID(),
		IpProtocol:      pulumi.String("tcp"),
		FromPort:        pulumi.Int(443),
		ToPort:          pulumi.Int(443),
		CidrIpv4:        pulumi.String("0.0.0.0/0"),
		Description:     pulumi.String("tasks to AWS APIs, S3 and Synapse over HTTPS"),
	}, s.opts("task-out-https")...); err != nil {
		return nil, err
	}
	return &SecurityGroups{LoadBalancer: alb, Task: task}, nil
}
