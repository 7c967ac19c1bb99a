// Command synth shows everything a stack would create, with no cloud
// credentials, Pulumi CLI or plugins: it runs infra.Deploy under Pulumi mocks
// with the stack's config, writes build/synth/<stack>.json and prints a
// one-line-per-resource summary.
//
//	go run ./cmd/synth -stack dev [-dir .] [-out build/synth] [-strict] [-quiet]
package main

import (
	"os"

	"github.com/Sage-Bionetworks/synapse-docker-registry/infra"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synth"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	os.Exit(synth.Main(os.Args[1:], func(ctx *pulumi.Context) error {
		_, err := infra.Deploy(ctx)
		return err
	}, infra.SecretPlaceholders, os.Stdout, os.Stderr))
}
