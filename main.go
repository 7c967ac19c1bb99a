// Command synapse-docker-registry is the Pulumi program that deploys docker.synapse.org.
package main

import (
	"github.com/Sage-Bionetworks/synapse-docker-registry/infra"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		registry, err := infra.Deploy(ctx)
		if err != nil {
			return err
		}
		registry.Export(ctx)
		return nil
	})
}
