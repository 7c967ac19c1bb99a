package infra

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// newDNSRecord points registryHost at the load balancer with an alias record, when enabled. It
// takes over an existing record of the same name (the DNS cut-over from the CDK stack), and is
// retained when the stack lets go of it.
func newDNSRecord(s *scope, lb *LoadBalancer) error {
	if !s.cfg.DNS.CreateDNSRecord {
		return nil
	}
	_, err := route53.NewRecord(s.ctx, s.name("registry-alias"), &route53.RecordArgs{
		ZoneId: lookupZone(s).ZoneId(),
		Name:   pulumi.String(s.cfg.Registry.Host),
		Type:   pulumi.String("A"),
		Aliases: route53.RecordAliasArray{&route53.RecordAliasArgs{
			Name:                 lb.DNSName,
			ZoneId:               lb.ZoneID,
			EvaluateTargetHealth: pulumi.Bool(true),
		}},
		AllowOverwrite: pulumi.Bool(true),
		// Switching createDnsRecord off (a rollback) or destroying the stack must not take
		// the registry off the air: the record stays, to be repointed by hand.
	}, s.opts("registry-alias", pulumi.RetainOnDelete(true))...)
	return err
}
