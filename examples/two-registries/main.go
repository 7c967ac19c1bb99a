// Command two-registries is an example Pulumi program that declares two docker registries, each a
// synapse:registry:DockerRegistry component, in one stack: a staging and a load-test registry in
// their own VPCs, built from DockerRegistryArgs in code rather than read from stack configuration.
//
// The first gets the program's AWS provider through pulumi.Providers; the second gets none and
// creates its own under itself. Both run an existing image (config key image), since this program
// has no image/ directory to build.
package main

import (
	"fmt"
	"net/netip"

	"github.com/Sage-Bionetworks/synapse-docker-registry/infra"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	pulumi.Run(program)
}

// registry is what differs between the two registries.
type registry struct {
	name    string
	host    string
	vpcCidr string
}

var registries = []registry{
	{name: "staging", host: "staging-docker.dev.sagebase.org", vpcCidr: "10.20.0.0/24"},
	{name: "loadtest", host: "loadtest-docker.dev.sagebase.org", vpcCidr: "10.20.1.0/24"},
}

func program(ctx *pulumi.Context) error {
	var missing []string
	require := func(key string) string {
		v, ok := ctx.GetConfig(key)
		if !ok || v == "" {
			missing = append(missing, key)
		}
		return v
	}
	shared := sharedSettings{
		region:       require("aws:region"),
		certificates: require(ctx.Project() + ":tokenSigningCertificates"),
		auth:         pulumi.ToSecret(pulumi.String(require(ctx.Project() + ":notificationAuth"))).(pulumi.StringOutput),
		image:        require(ctx.Project() + ":image"),
	}
	if len(missing) > 0 {
		return fmt.Errorf("set %v with pulumi config set (notificationAuth with --secret)", missing)
	}
	provider, err := infra.NewProvider(ctx, "aws", shared.args(ctx, registries[0]))
	if err != nil {
		return err
	}
	for i, r := range registries {
		var opts []pulumi.ResourceOption
		if i == 0 {
			opts = append(opts, pulumi.Providers(provider))
		}
		reg, err := infra.NewDockerRegistry(ctx, r.name, shared.args(ctx, r), opts...)
		if err != nil {
			return err
		}
		for output, value := range reg.OutputMap() {
			ctx.Export(r.name+"."+output, value)
		}
	}
	return nil
}

// sharedSettings are the values both registries take from the stack's configuration.
type sharedSettings struct {
	region, certificates, image string
	auth                        pulumi.StringOutput
}

func (s sharedSettings) args(ctx *pulumi.Context, r registry) *infra.DockerRegistryArgs {
	return &infra.DockerRegistryArgs{
		Project:    ctx.Project(),
		Stack:      ctx.Stack(),
		Region:     s.region,
		CostCenter: "Platform Infrastructure / 990300",
		OwnerEmail: "synapseeng@sagebase.org",
		Network:    infra.NetworkConfig{VpcCidr: netip.MustParsePrefix(r.vpcCidr), NatGateways: infra.NatSingle},
		Storage:    infra.StorageConfig{AbortIncompleteUploadDays: 7},
		Registry: infra.RegistryConfig{
			Host:                     r.host,
			TokenRealm:               "https://repo-dev.dev.sagebase.org/docker/v1/bearerToken",
			TokenIssuer:              "www.synapse.org",
			TokenSigningCertificates: s.certificates,
			NotificationURL:          "https://repo-dev.dev.sagebase.org/dockerRegistryListener/v1/events",
			NotificationAuth:         s.auth,
		},
		Image: infra.ImageConfig{Reference: s.image, KeepImages: 20},
		DNS:   infra.DNSConfig{HostedZoneName: "dev.sagebase.org"},
		Service: infra.ServiceConfig{
			CPU: 1024, Memory: 2048, Architecture: infra.ARM64,
			DesiredCount: 1, MinCount: 1, MaxCount: 2,
			LogRetentionDays: 30, RequestsPerTarget: 1000,
		},
	}
}
