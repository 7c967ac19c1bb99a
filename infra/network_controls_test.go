package infra

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Network controls of AWS Foundational Security Best Practices (docs/security.md).

// EC2.6: VPC flow logging is enabled in all VPCs. AWS Config's vpc-flow-logs-enabled rule (the
// control's check) passes with a flow log of the VPC for ALL traffic, or REJECT; this one records
// ALL, in a retained log group, through a role that writes only there.
func TestFlowLogsRecordTheVPC(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		fl := r.one(t, tFlowLog, "registry")
		if !slices.Contains(fl.DependsOn, "registry") || fl.InputString("vpcId") == "" {
			t.Errorf("flow log is not on the VPC: vpcId %q, depends on %v", fl.InputString("vpcId"), fl.DependsOn)
		}
		if fl.InputString("trafficType") != "ALL" || fl.InputString("logDestinationType") != "cloud-watch-logs" {
			t.Errorf("flow log records %q to %q, want ALL to cloud-watch-logs", fl.InputString("trafficType"), fl.InputString("logDestinationType"))
		}
		group := r.one(t, tLogGroup, "flow-logs")
		if !strings.HasSuffix(fl.InputString("logDestination"), ":log-group:"+group.InputString("name")) {
			t.Errorf("flow log writes to %q, want the flow-logs group %q", fl.InputString("logDestination"), group.InputString("name"))
		}
		retention, _ := strconv.Atoi(r.config("logRetentionDays"))
		expectLike(t, "flowLogGroup", group.Inputs, map[string]any{"retentionInDays": retention}) // logRetentionDays
		if !slices.Contains(fl.DependsOn, "flow-logs") || !slices.Contains(fl.DependsOn, "flow-logs-policy") {
			t.Errorf("flow log does not use the flow-logs role after its policy exists: depends on %v", fl.DependsOn)
		}
		doc := parsePolicy(t, "flow-logs policy", r.one(t, tRolePolicy, "flow-logs-policy").InputString("policy"))
		groupArn := "arn:aws:logs:us-east-1:123456789012:log-group:" + group.InputString("name")
		for _, s := range doc.Statement {
			for _, res := range stringList(s.Resource) {
				if s.Effect == "Allow" && res != groupArn+":*" {
					t.Errorf("flow-logs role reaches %s, want only %s:*", res, groupArn)
				}
			}
			for _, a := range stringList(s.Action) {
				if !slices.Contains([]string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"}, a) {
					t.Errorf("flow-logs role may %s", a)
				}
			}
		}
	})
}

// EC2.2: the VPC default security group does not allow inbound or outbound traffic. Declaring
// aws:ec2/defaultSecurityGroup with no ingress and egress makes the provider remove every rule
// AWS puts in it (provider docs: "removes all ingress and egress rules ... when first applied").
func TestDefaultSecurityGroupHasNoRules(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		sg := r.one(t, tDefaultSecurityGroup, "registry-default")
		if !slices.Contains(sg.DependsOn, "registry") || sg.InputString("vpcId") == "" {
			t.Errorf("default security group is not the registry VPC's: depends on %v", sg.DependsOn)
		}
		for _, k := range []string{"ingress", "egress"} {
			if v, ok := sg.Input(k); ok {
				expectLike(t, "defaultSecurityGroup."+k, v, []any{}) // no rules
			}
		}
	})
}

// EC2.15: subnets do not assign public IPv4 addresses on launch. The ALB and NAT gateways get
// theirs from AWS; nothing else launched in any subnet needs one.
func TestSubnetsAssignNoPublicIPs(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		subnets := r.ByType(tSubnet)
		if len(subnets) == 0 {
			t.Fatal("no subnets declared")
		}
		for _, sub := range subnets {
			// Unset means AWS's default, false, but an explicit false survives a default change.
			if v, ok := sub.Input("mapPublicIpOnLaunch"); !ok || v != false {
				t.Errorf("subnet %s mapPublicIpOnLaunch = %v, want false", sub.Name, v)
			}
		}
	})
}
