package infra

import (
	"fmt"
	"net/netip"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
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

// subnetCidrs returns the private and public CIDR of AZ number i (0-based): the private subnet
// opens the AZ's half of the VPC, the public one follows it.
func subnetCidrs(vpc netip.Prefix, i int) (private, public netip.Prefix) {
	azBits, privateBits, publicBits := subnetMasks(vpc.Bits())
	base := vpc.Masked().Addr().As4()
	start := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	azStart := start + uint32(i)<<(32-azBits)
	addr := func(v uint32) netip.Addr {
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	return netip.PrefixFrom(addr(azStart), privateBits),
		netip.PrefixFrom(addr(azStart+1<<(32-privateBits)), publicBits)
}

// newNetwork declares the VPC with plain aws resources (see README "Why plain aws network
// resources"): per AZ a public subnet routed to the internet gateway and holding the ALB and a
// NAT gateway, and a private subnet for the tasks routed to a NAT gateway (its own with OnePerAz,
// the first AZ's with Single) and to S3 through the gateway endpoint.
func newNetwork(s *scope) (*Network, error) {
	cfg := s.cfg.Network
	vpc, err := ec2.NewVpc(s.ctx, s.name("registry"), &ec2.VpcArgs{
		CidrBlock:          pulumi.String(cfg.VpcCidr.String()),
		EnableDnsHostnames: pulumi.Bool(true),
		EnableDnsSupport:   pulumi.Bool(true),
		Tags:               pulumi.StringMap{"Name": pulumi.String(s.names.qualified())},
	}, s.opts("registry")...)
	if err != nil {
		return nil, err
	}
	// FSBP EC2.2: the default security group every VPC comes with is taken over with no rules, so
	// nothing attached to it by mistake can send or receive anything.
	if _, err := ec2.NewDefaultSecurityGroup(s.ctx, s.name("registry-default"), &ec2.DefaultSecurityGroupArgs{
		VpcId: vpc.ID(),
		Tags:  pulumi.StringMap{"Name": pulumi.String("registry-default-no-rules")},
	}, s.opts("registry-default")...); err != nil {
		return nil, err
	}
	if err := newFlowLogs(s, vpc); err != nil {
		return nil, err
	}

	// The first AZs in name order, skipping Local and Wavelength Zones (which need opting in), as
	// awsx does; AWS appends new AZs, so the choice is stable.
	zones, err := aws.GetAvailabilityZones(s.ctx, &aws.GetAvailabilityZonesArgs{
		State: pulumi.StringRef("available"),
		Filters: []aws.GetAvailabilityZonesFilter{
			{Name: "opt-in-status", Values: []string{"opt-in-not-required"}},
		},
	}, s.invokeOpts()...)
	if err != nil {
		return nil, fmt.Errorf("looking up the region's availability zones: %w", err)
	}
	if len(zones.Names) < availabilityZones {
		return nil, fmt.Errorf("region %s offers %d availability zones (%v); the registry needs %d", s.cfg.Region, len(zones.Names), zones.Names, availabilityZones)
	}

	igw, err := ec2.NewInternetGateway(s.ctx, s.name("registry"), &ec2.InternetGatewayArgs{VpcId: vpc.ID()}, s.opts("registry")...)
	if err != nil {
		return nil, err
	}

	var publicIDs, privateIDs pulumi.StringArray
	var privateRouteTables pulumi.StringArray
	var natIDs []pulumi.IDOutput
	for i := 0; i < availabilityZones; i++ {
		az := zones.Names[i]
		privateCidr, publicCidr := subnetCidrs(cfg.VpcCidr, i)
		n := i + 1

		public, _, err := newRoutedSubnet(s, vpc, fmt.Sprintf("registry-public-%d", n), az, publicCidr, "Public",
			&ec2.RouteArgs{GatewayId: igw.ID()})
		if err != nil {
			return nil, err
		}
		publicIDs = append(publicIDs, public.ID())

		if i == 0 || cfg.NatGateways == NatOnePerAz {
			eip, err := ec2.NewEip(s.ctx, s.name(fmt.Sprintf("registry-nat-%d-ip", n)), &ec2.EipArgs{
				Domain: pulumi.String("vpc"),
				Tags:   pulumi.StringMap{"Name": pulumi.String(fmt.Sprintf("registry-nat-%d", n))},
			}, s.opts(fmt.Sprintf("registry-nat-%d-ip", n))...)
			if err != nil {
				return nil, err
			}
			// AWS: a NAT gateway needs the VPC's internet gateway attached before it can route.
			nat, err := ec2.NewNatGateway(s.ctx, s.name(fmt.Sprintf("registry-nat-%d", n)), &ec2.NatGatewayArgs{
				SubnetId:     public.ID(),
				AllocationId: eip.ID(),
				Tags:         pulumi.StringMap{"Name": pulumi.String(fmt.Sprintf("registry-nat-%d", n))},
			}, s.opts(fmt.Sprintf("registry-nat-%d", n), pulumi.DependsOn([]pulumi.Resource{igw}))...)
			if err != nil {
				return nil, err
			}
			natIDs = append(natIDs, nat.ID())
		}

		private, privateRoutes, err := newRoutedSubnet(s, vpc, fmt.Sprintf("registry-private-%d", n), az, privateCidr, "Private",
			&ec2.RouteArgs{NatGatewayId: natIDs[len(natIDs)-1]})
		if err != nil {
			return nil, err
		}
		privateIDs = append(privateIDs, private.ID())
		privateRouteTables = append(privateRouteTables, privateRoutes.ID())
	}

	// Registry <-> S3 traffic (every layer pushed or copied) goes through a free gateway endpoint on
	// the private route tables instead of paying NAT data processing and depending on NAT.
	if _, err := ec2.NewVpcEndpoint(s.ctx, s.name("s3-gateway"), &ec2.VpcEndpointArgs{
		VpcId:           vpc.ID(),
		ServiceName:     pulumi.String(fmt.Sprintf("com.amazonaws.%s.s3", s.cfg.Region)),
		VpcEndpointType: pulumi.String("Gateway"),
		RouteTableIds:   privateRouteTables,
	}, s.opts("s3-gateway")...); err != nil {
		return nil, err
	}
	return &Network{
		VpcID:            vpc.ID().ToStringOutput(),
		PublicSubnetIDs:  publicIDs.ToStringArrayOutput(),
		PrivateSubnetIDs: privateIDs.ToStringArrayOutput(),
	}, nil
}

// newSubnet declares one subnet. No subnet hands out public IPv4 addresses: the ALB and NAT
// gateways get theirs from AWS, and nothing else launched here needs one (FSBP EC2.15).
func newSubnet(s *scope, vpc *ec2.Vpc, name, az string, cidr netip.Prefix, kind string) (*ec2.Subnet, error) {
	return ec2.NewSubnet(s.ctx, s.name(name), &ec2.SubnetArgs{
		VpcId:               vpc.ID(),
		AvailabilityZone:    pulumi.String(az),
		CidrBlock:           pulumi.String(cidr.String()),
		MapPublicIpOnLaunch: pulumi.Bool(false),
		Tags:                pulumi.StringMap{"Name": pulumi.String(name), "SubnetType": pulumi.String(kind)},
	}, s.opts(name)...)
}

// newRoutedSubnet declares a subnet with its own route table, whose default route (0.0.0.0/0)
// goes to the target set in defaultRoute (the internet gateway or a NAT gateway).
func newRoutedSubnet(s *scope, vpc *ec2.Vpc, name, az string, cidr netip.Prefix, kind string, defaultRoute *ec2.RouteArgs) (*ec2.Subnet, *ec2.RouteTable, error) {
	subnet, err := newSubnet(s, vpc, name, az, cidr, kind)
	if err != nil {
		return nil, nil, err
	}
	rt, err := ec2.NewRouteTable(s.ctx, s.name(name+"-routes"), &ec2.RouteTableArgs{
		VpcId: vpc.ID(),
		Tags:  pulumi.StringMap{"Name": pulumi.String(name + "-routes")},
	}, s.opts(name+"-routes")...)
	if err != nil {
		return nil, nil, err
	}
	if _, err := ec2.NewRouteTableAssociation(s.ctx, s.name(name+"-routes"), &ec2.RouteTableAssociationArgs{
		SubnetId:     subnet.ID(),
		RouteTableId: rt.ID(),
	}, s.opts(name+"-routes")...); err != nil {
		return nil, nil, err
	}
	defaultRoute.RouteTableId = rt.ID()
	defaultRoute.DestinationCidrBlock = pulumi.String("0.0.0.0/0")
	_, err = ec2.NewRoute(s.ctx, s.name(name+"-default"), defaultRoute, s.opts(name+"-default")...)
	return subnet, rt, err
}

// flowLogPolicyName is the flow-log role's inline policy (AWS: 1-128 characters of [\w+=,.@-]).
const flowLogPolicyName = "write-vpc-flow-logs"

// newFlowLogs records every accepted and rejected flow of the VPC (FSBP EC2.6) in a log group
// kept as long as the registry's own logs, written by a role that can write only there.
func newFlowLogs(s *scope, vpc *ec2.Vpc) error {
	group, err := cloudwatch.NewLogGroup(s.ctx, s.name("flow-logs"), &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(fmt.Sprintf("/vpc/%s/flow-logs", s.names.path())),
		RetentionInDays: pulumi.Int(s.cfg.Service.LogRetentionDays),
	}, s.opts("flow-logs")...)
	if err != nil {
		return err
	}
	role, err := iam.NewRole(s.ctx, s.name("flow-logs"), &iam.RoleArgs{
		Description:      pulumi.String("VPC flow logs write the registry VPC's flows to their log group"),
		AssumeRolePolicy: assumeRolePolicy("vpc-flow-logs.amazonaws.com", callerAccountID(s)),
	}, s.opts("flow-logs")...)
	if err != nil {
		return err
	}
	// The actions AWS documents for flow logs to CloudWatch Logs ("IAM role for publishing flow
	// logs to CloudWatch Logs"), without CreateLogGroup (the group is declared here) and with
	// streams only in this group.
	rolePolicy, err := iam.NewRolePolicy(s.ctx, s.name("flow-logs-policy"), &iam.RolePolicyArgs{
		Role: role.ID(),
		Name: pulumi.String(flowLogPolicyName),
		Policy: policyJSON(group.Arn, func(groupArn string) PolicyDocument {
			return policy(allow([]string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"}, groupArn+":*"))
		}),
	}, s.opts("flow-logs-policy")...)
	if err != nil {
		return err
	}
	_, err = ec2.NewFlowLog(s.ctx, s.name("registry"), &ec2.FlowLogArgs{
		VpcId:                  vpc.ID(),
		TrafficType:            pulumi.String("ALL"),
		LogDestinationType:     pulumi.String("cloud-watch-logs"),
		LogDestination:         group.Arn,
		IamRoleArn:             role.Arn,
		MaxAggregationInterval: pulumi.Int(600),
	}, s.opts("registry", pulumi.DependsOn([]pulumi.Resource{rolePolicy}))...)
	return err
}
