package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	awsxec2 "github.com/pulumi/pulumi-awsx/sdk/v2/go/awsx/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// availabilityZones is how many AZs the VPC spans: enough to survive the loss of one.
const availabilityZones = 2

// Network is what the rest of the stack needs from the VPC.
type Network struct {
	VpcID            pulumi.StringOutput
	PublicSubnetIDs  pulumi.StringArrayOutput
	PrivateSubnetIDs pulumi.StringArrayOutput
}

// subnetMasks splits the VPC in halves per AZ; in each half the private subnet (tasks) gets half
// and the public subnet (ALB, NAT) a quarter, leaving a quarter free for later use.
func subnetMasks(vpcBits int) (az, private, public int) {
	return vpcBits + 1, vpcBits + 2, vpcBits + 3
}

func newNetwork(s *scope) (*Network, error) {
	cfg := s.cfg.Network
	cidr := cfg.VpcCidr.String()
	azMask, privateMask, publicMask := subnetMasks(cfg.VpcCidr.Bits())
	zones := availabilityZones
	strategy := awsxec2.SubnetAllocationStrategyAuto
	vpc, err := awsxec2.NewVpc(s.ctx, "registry", &awsxec2.VpcArgs{
		CidrBlock:                 &cidr,
		NumberOfAvailabilityZones: &zones,
		AvailabilityZoneCidrMask:  &azMask,
		SubnetStrategy:            &strategy,
		SubnetSpecs: []awsxec2.SubnetSpecArgs{
			{Type: awsxec2.SubnetTypePublic, CidrMask: &publicMask},
			{Type: awsxec2.SubnetTypePrivate, CidrMask: &privateMask},
		},
		NatGateways:        &awsxec2.NatGatewayConfigurationArgs{Strategy: awsxec2.NatGatewayStrategy(cfg.NatGateways)},
		EnableDnsHostnames: pulumi.Bool(true),
		EnableDnsSupport:   pulumi.Bool(true),
	}, s.opts()...)
	if err != nil {
		return nil, err
	}

	// Registry <-> S3 traffic (every layer pushed or copied) goes through a free gateway endpoint on
	// the private route tables instead of paying NAT data processing and depending on NAT.
	// awsx tags each route table with its subnet type; the lookup waits for the VPC to be built.
	privateRouteTables := ec2.GetRouteTablesOutput(s.ctx, ec2.GetRouteTablesOutputArgs{
		VpcId: vpc.VpcId,
		Filters: ec2.GetRouteTablesFilterArray{ec2.GetRouteTablesFilterArgs{
			Name:   pulumi.String("tag:SubnetType"),
			Values: pulumi.StringArray{pulumi.String("Private")},
		}},
	}, append(s.invokeOpts(), pulumi.DependsOn([]pulumi.Resource{vpc}))...)
	_, err = ec2.NewVpcEndpoint(s.ctx, "s3-gateway", &ec2.VpcEndpointArgs{
		VpcId:           vpc.VpcId,
		ServiceName:     pulumi.String(fmt.Sprintf("com.amazonaws.%s.s3", s.cfg.Region)),
		VpcEndpointType: pulumi.String("Gateway"),
		RouteTableIds:   privateRouteTables.Ids(),
	}, s.opts()...)
	if err != nil {
		return nil, err
	}
	return &Network{VpcID: vpc.VpcId, PublicSubnetIDs: vpc.PublicSubnetIds, PrivateSubnetIDs: vpc.PrivateSubnetIds}, nil
}
