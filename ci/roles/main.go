// Command roles is a Pulumi program (ci/roles/Pulumi.yaml) that declares, in one stack's AWS
// account, GitHub's OIDC provider and the two roles the workflows assume: deploy (pulumi up, in
// the GitHub environment named like the stack) and preview (pull requests; read-only, and
// explicitly denied image data and secret values).
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		_, err := declareRoles(ctx)
		return err
	})
}
