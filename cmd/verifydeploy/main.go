// Command verifydeploy runs after `pulumi up` (make up, the deploy workflow) and fails when the
// ECS service does not run the task definition the stack declared.
//
// With the deployment circuit breaker's rollback on, a deployment whose tasks never become
// healthy is rolled back by ECS to the last completed one, and the AWS provider reports success
// once the service is stable again, on the old revision (hashicorp/terraform-provider-aws#20858):
// the state then claims the new revision runs. This command reads the stack outputs
// (`pulumi stack output --json`) and asks ECS.
//
//	pulumi stack output --json --stack prod | go run ./cmd/verifydeploy -region us-east-1
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/ecs"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, nil))
}

// run is main with its inputs; endpoint, when set, is the ECS API to call (tests).
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, endpoint *string) int {
	fs := flag.NewFlagSet("verifydeploy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	region := fs.String("region", os.Getenv("AWS_REGION"), "the stack's AWS region (aws:region)")
	outputsFile := fs.String("outputs", "-", "the stack outputs as `pulumi stack output --json` prints them; - reads stdin")
	wait := fs.Duration("wait", 20*time.Minute, "how long to wait for a deployment still in progress")
	poll := fs.Duration("poll", 15*time.Second, "how often to ask ECS while waiting")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return 2
	}
	if *region == "" {
		fmt.Fprintln(stderr, "verifydeploy: no region; pass -region (the stack's aws:region) or set AWS_REGION")
		return 2
	}
	in := stdin
	if *outputsFile != "-" {
		f, err := os.Open(*outputsFile)
		if err != nil {
			fmt.Fprintf(stderr, "verifydeploy: %v\n", err)
			return 2
		}
		defer f.Close()
		in = f
	}
	var outputs StackOutputs
	if err := json.NewDecoder(in).Decode(&outputs); err != nil {
		fmt.Fprintf(stderr, "verifydeploy: the stack outputs are not JSON (%v); pipe `pulumi stack output --json --stack <stack>` into it\n", err)
		return 2
	}
	if missing := outputs.missing(); len(missing) > 0 {
		fmt.Fprintf(stderr, "verifydeploy: the stack outputs lack %v; run `pulumi up` of this program first\n", missing)
		return 2
	}
	sess, err := session.NewSession(&aws.Config{Region: region, Endpoint: endpoint})
	if err != nil {
		fmt.Fprintf(stderr, "verifydeploy: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), *wait+time.Minute)
	defer cancel()
	report, err := Verify(ctx, ecs.New(sess), outputs, *wait, *poll)
	if err != nil {
		fmt.Fprintln(stderr, "verifydeploy: "+err.Error())
		return 1
	}
	fmt.Fprintln(stdout, report)
	return 0
}
