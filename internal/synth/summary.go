package synth

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// keySettings names, per type, the inputs worth a glance in the summary:
// "path" or "label=path". Types not listed show their first few short
// scalar inputs.
var keySettings = map[string][]string{
	"pulumi:providers:aws":                {"region", "defaultTags=defaultTags.tags"},
	"awsx:ec2:Vpc":                        {"cidrBlock", "numberOfAvailabilityZones", "natGateways=natGateways.strategy", "subnetStrategy"},
	"aws:ec2/vpc:Vpc":                     {"cidrBlock", "enableDnsHostnames"},
	"aws:ec2/subnet:Subnet":               {"cidrBlock", "availabilityZone", "mapPublicIpOnLaunch"},
	"aws:ec2/securityGroup:SecurityGroup": {"description", "ingress", "egress"},
	"aws:ec2/securityGroupRule:SecurityGroupRule": {
		"type", "protocol", "fromPort", "toPort", "cidrBlocks", "sourceSecurityGroupId"},
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {
		"ipProtocol", "fromPort", "toPort", "cidrIpv4", "referencedSecurityGroupId", "prefixListId"},
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": {
		"ipProtocol", "fromPort", "toPort", "cidrIpv4", "referencedSecurityGroupId", "prefixListId"},
	"aws:ec2/vpcEndpoint:VpcEndpoint": {"serviceName", "vpcEndpointType", "privateDnsEnabled"},
	"aws:lb/loadBalancer:LoadBalancer": {
		"loadBalancerType", "internal", "idleTimeout", "dropInvalidHeaderFields", "accessLogs=accessLogs.enabled"},
	"aws:lb/listener:Listener": {"port", "protocol", "sslPolicy", "action=defaultActions[0].type"},
	"aws:lb/targetGroup:TargetGroup": {
		"port", "protocol", "targetType", "healthCheck.path", "healthCheck.matcher", "deregistrationDelay"},
	"aws:lb/listenerRule:ListenerRule": {"priority", "action=actions[0].type"},
	"aws:ecs/cluster:Cluster":          {"settings"},
	"aws:ecs/taskDefinition:TaskDefinition": {
		"family", "cpu", "memory", "networkMode", "requiresCompatibilities", "cpuArchitecture=runtimePlatform.cpuArchitecture"},
	"aws:ecs/service:Service": {
		"desiredCount", "launchType", "platformVersion", "healthCheckGracePeriodSeconds",
		"enableExecuteCommand", "circuitBreakerRollback=deploymentCircuitBreaker.rollback"},
	"aws:cloudwatch/logGroup:LogGroup":             {"name", "retentionInDays"},
	"aws:cloudwatch/metricAlarm:MetricAlarm":       {"metricName", "comparisonOperator", "threshold", "evaluationPeriods", "period"},
	"aws:s3/bucketV2:BucketV2":                     {"bucket", "forceDestroy"},
	"aws:s3/bucketVersioningV2:BucketVersioningV2": {"versioning=versioningConfiguration.status"},
	"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": {
		"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"},
	"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": {
		"sseAlgorithm=rules[0].applyServerSideEncryptionByDefault.sseAlgorithm", "bucketKeyEnabled=rules[0].bucketKeyEnabled"},
	"aws:s3/bucketOwnershipControls:BucketOwnershipControls": {"objectOwnership=rule.objectOwnership"},
	"aws:ecr/repository:Repository": {
		"name", "imageTagMutability", "scanOnPush=imageScanningConfiguration.scanOnPush", "forceDelete"},
	"aws:acm/certificate:Certificate":                   {"domainName", "subjectAlternativeNames", "validationMethod"},
	"aws:route53/record:Record":                         {"name", "type", "ttl", "alias=aliases[0].name"},
	"aws:secretsmanager/secret:Secret":                  {"name", "recoveryWindowInDays"},
	"aws:iam/role:Role":                                 {"name", "path", "managedPolicyArns"},
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment": {"policyArn"},
	"aws:appautoscaling/target:Target":                  {"minCapacity", "maxCapacity", "scalableDimension"},
	"aws:appautoscaling/policy:Policy": {
		"policyType",
		"metric=targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType",
		"targetValue=targetTrackingScalingPolicyConfiguration.targetValue"},
	"random:index/randomPassword:RandomPassword": {"length", "special"},
	"random:index/randomBytes:RandomBytes":       {"length"},
	"docker:index/image:Image":                   {"imageName", "platform=build.platform", "dockerfile=build.dockerfile"},
}

// Summary writes one line per resource: type (shortened as `pulumi preview`
// shows it: aws:s3:BucketV2), name and a few key settings. It shows only
// recorded inputs, so secrets read "[secret]" here too.
func (r *Result) Summary(w io.Writer) {
	fmt.Fprintf(w, "stack %s: %d resources\n", r.Stack, len(r.Resources))
	typeW, nameW := 0, 0
	for _, res := range r.Resources {
		typeW = max(typeW, len(displayType(res.Type)))
		nameW = max(nameW, len(res.Name))
	}
	for _, res := range r.Resources {
		line := fmt.Sprintf("  %-*s  %-*s  %s", typeW, displayType(res.Type), nameW, res.Name, strings.Join(settings(res), " "))
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
}

// maxValue is the most runes of one value the summary shows.
const maxValue = 96

func settings(r Resource) []string {
	var out []string
	if paths, ok := keySettings[r.Type]; ok {
		for _, p := range paths {
			label, path, ok := strings.Cut(p, "=")
			if !ok {
				path = label
			}
			if v, ok := r.Input(path); ok && v != nil {
				out = append(out, label+"="+compact(v, maxValue))
			}
		}
	} else {
		keys := make([]string, 0, len(r.Inputs))
		for k := range r.Inputs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if len(out) == 4 {
				break
			}
			switch v := r.Inputs[k].(type) {
			case bool, float64:
				out = append(out, k+"="+compact(v, maxValue))
			case string:
				// Skip documents (policies, container definitions) and long ids.
				if len(v) <= 48 && !strings.HasPrefix(v, "{") && !strings.HasPrefix(v, "[") && !strings.HasPrefix(v, "arn:") {
					out = append(out, k+"="+compact(v, maxValue))
				}
			}
		}
	}
	if r.Protect {
		out = append(out, "protect")
	}
	if r.RetainOnDelete {
		out = append(out, "retainOnDelete")
	}
	if r.Import != "" {
		out = append(out, "import="+r.Import)
	}
	if r.Read != "" {
		out = append(out, "read="+r.Read)
	}
	if len(r.IgnoreChanges) > 0 {
		out = append(out, "ignoreChanges=["+strings.Join(r.IgnoreChanges, ",")+"]")
	}
	return out
}

// compact renders a value on one line, at most max runes.
func compact(v interface{}, max int) string {
	s := render(v)
	if rs := []rune(s); len(rs) > max {
		s = string(rs[:max-1]) + "…"
	}
	return s
}

func render(v interface{}) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		if v == "" || strings.ContainsAny(v, " \t\n\"") {
			return strconv.Quote(v)
		}
		return v
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []interface{}:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = renderRule(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case map[string]interface{}:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ":" + render(v[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	default:
		return fmt.Sprint(v)
	}
}

// renderRule shows a security-group rule as protocol/ports@peers; any
// other value as render does.
func renderRule(v interface{}) string {
	m, ok := v.(map[string]interface{})
	if !ok {
		return render(v)
	}
	proto, hasProto := m["protocol"].(string)
	from, hasFrom := m["fromPort"].(float64)
	to, _ := m["toPort"].(float64)
	if !hasProto || !hasFrom {
		return render(v)
	}
	s := proto + "/" + strconv.FormatFloat(from, 'f', -1, 64)
	if to != from {
		s += "-" + strconv.FormatFloat(to, 'f', -1, 64)
	}
	var src []string
	for _, k := range []string{"cidrBlocks", "ipv6CidrBlocks", "securityGroups", "prefixListIds"} {
		if arr, ok := m[k].([]interface{}); ok {
			for _, e := range arr {
				src = append(src, render(e))
			}
		}
	}
	if self, ok := m["self"].(bool); ok && self {
		src = append(src, "self")
	}
	if len(src) > 0 {
		s += "@" + strings.Join(src, "+")
	}
	return s
}

// displayType drops a token's module member: aws:s3/bucketV2:BucketV2 ->
// aws:s3:BucketV2.
func displayType(token string) string {
	parts := strings.Split(token, ":")
	if len(parts) != 3 {
		return token
	}
	mod, _, _ := strings.Cut(parts[1], "/")
	return parts[0] + ":" + mod + ":" + parts[2]
}
