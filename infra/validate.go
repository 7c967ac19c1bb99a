package infra

import (
	"fmt"
	"slices"
)

// Validate reports every problem of args built in code, all at once, as LoadConfig does for a
// stack's configuration. NewDockerRegistry calls it before declaring anything.
//
// For now it checks that the values LoadConfig always sets are there; the checks of each value's
// form (LoadConfig's) move here next.
func (a *DockerRegistryArgs) Validate() error {
	var problems []string
	missing := func(field string, empty bool) {
		if empty {
			problems = append(problems, fmt.Sprintf("%s: is required", field))
		}
	}
	missing("Region", a.Region == "")
	missing("CostCenter", a.CostCenter == "")
	missing("OwnerEmail", a.OwnerEmail == "")
	missing("Network.VpcCidr", !a.Network.VpcCidr.IsValid())
	missing("Registry.Host", a.Registry.Host == "")
	missing("Registry.TokenRealm", a.Registry.TokenRealm == "")
	missing("Registry.TokenIssuer", a.Registry.TokenIssuer == "")
	missing("Registry.TokenSigningCertificates", a.Registry.TokenSigningCertificates == "")
	missing("Registry.NotificationURL", a.Registry.NotificationURL == "")
	missing("Registry.NotificationAuth (a secret: pulumi.ToSecret(...))", a.Registry.NotificationAuth.OutputState == nil)
	missing("DNS.CertificateArn or DNS.HostedZoneName", a.DNS.CertificateArn == "" && a.DNS.HostedZoneName == "")
	if !slices.Contains([]NatStrategy{NatSingle, NatOnePerAz}, a.Network.NatGateways) {
		problems = append(problems, fmt.Sprintf("Network.NatGateways: %q is not %s or %s", a.Network.NatGateways, NatOnePerAz, NatSingle))
	}
	if !slices.Contains([]Architecture{ARM64, X8664}, a.Service.Architecture) {
		problems = append(problems, fmt.Sprintf("Service.Architecture: %q is not %s or %s", a.Service.Architecture, ARM64, X8664))
	}
	if options := fargateMemoryOptions(a.Service.CPU); !slices.Contains(options, a.Service.Memory) {
		problems = append(problems, fmt.Sprintf("Service.CPU, Service.Memory: %d CPU units with %d MiB is not a size Fargate offers", a.Service.CPU, a.Service.Memory))
	}
	if a.Service.MinCount < 1 || a.Service.MinCount > a.Service.MaxCount || a.Service.DesiredCount < a.Service.MinCount || a.Service.DesiredCount > a.Service.MaxCount {
		problems = append(problems, fmt.Sprintf("Service.MinCount <= DesiredCount <= MaxCount, MinCount >= 1: have %d, %d, %d", a.Service.MinCount, a.Service.DesiredCount, a.Service.MaxCount))
	}
	if len(problems) > 0 {
		return &ConfigError{Stack: a.Stack, Problems: problems}
	}
	return nil
}
