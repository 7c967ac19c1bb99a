// Command roles is a Pulumi program (ci/roles/Pulumi.yaml) that declares, in one stack's AWS
// account, GitHub's OIDC provider and the two roles the workflows assume: deploy (pulumi up, in
// the GitHub environment named like the stack) and preview (pull-request previews and the drift
// check, in preview-<stack>). Both roles' permissions come from permissions.go, the table of what
// each resource type the stack declares needs: deploy gets its actions, preview its reads and
// explicit denies of image data and secret values.
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
