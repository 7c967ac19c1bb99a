package infra

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/acm"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// newCertificate returns the ARN of the certificate the HTTPS listener serves: the configured
// existing one, or a new one for registryHost validated through DNS in hostedZoneName. The ARN
// returned for a new certificate resolves only once it is issued, so the listener never serves
// a pending certificate.
func newCertificate(s *scope) (pulumi.StringOutput, error) {
	if arn := s.cfg.DNS.CertificateArn; arn != "" {
		return pulumi.String(arn).ToStringOutput(), nil
	}
	zone := lookupZone(s)
	cert, err := acm.NewCertificate(s.ctx, s.name("registry"), &acm.CertificateArgs{
		DomainName:       pulumi.String(s.cfg.Registry.Host),
		ValidationMethod: pulumi.String("DNS"),
	}, s.opts("registry")...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	validation := cert.DomainValidationOptions.Index(pulumi.Int(0))
	record, err := route53.NewRecord(s.ctx, s.name("registry-certificate-validation"), &route53.RecordArgs{
		ZoneId:  zone.ZoneId(),
		Name:    validation.ResourceRecordName().Elem(),
		Type:    validation.ResourceRecordType().Elem(),
		Records: pulumi.StringArray{validation.ResourceRecordValue().Elem()},
		Ttl:     pulumi.Int(300),
		// The validation CNAME is the same for every certificate of this name and account, so a
		// record left by an earlier certificate is taken over rather than failing the update.
		AllowOverwrite: pulumi.Bool(true),
	}, s.opts("registry-certificate-validation")...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	validated, err := acm.NewCertificateValidation(s.ctx, s.name("registry"), &acm.CertificateValidationArgs{
		CertificateArn:        cert.Arn,
		ValidationRecordFqdns: pulumi.StringArray{record.Fqdn},
	}, s.opts("registry")...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	return validated.CertificateArn, nil
}

func lookupZone(s *scope) route53.LookupZoneResultOutput {
	return route53.LookupZoneOutput(s.ctx, route53.LookupZoneOutputArgs{
		Name:        pulumi.String(s.cfg.DNS.HostedZoneName),
		PrivateZone: pulumi.Bool(false),
	}, s.invokeOpts()...)
}
