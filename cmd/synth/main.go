// Command synth shows everything a stack would create, with no cloud
// credentials, Pulumi CLI or plugins: it runs infra.Deploy under Pulumi mocks
// with the stack's config, writes build/synth/<stack>.json and prints a
// one-line-per-resource summary, and, for an adopted image bucket, which of
// its existing settings the stack replaces.
//
//	go run ./cmd/synth -stack dev [-dir .] [-out build/synth] [-strict] [-quiet]
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/Sage-Bionetworks/synapse-docker-registry/infra"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synth"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	return synth.Main(args, func(ctx *pulumi.Context) error {
		out, err := infra.Deploy(ctx)
		if err != nil {
			return err
		}
		// The warning `pulumi preview` shows, which the mocks do not print.
		if cfg, err := infra.LoadConfig(ctx); err == nil && out != nil {
			for _, line := range infra.AdoptedBucketReplacements(cfg) {
				fmt.Fprintln(stdout, line)
			}
		}
		return nil
	}, infra.SecretPlaceholders, stdout, stderr)
}
