// Command s3probe measures, from where it runs, the two figures of the
// benchmark's S3 model: the latency of the small requests the registry makes
// around every blob, and what one connection carries. Run it from a host in
// the image bucket's Region (where the tasks run) against a bucket there; it
// writes only under -prefix, in a directory of its own, and deletes what it
// wrote. It prints the figures and the `make bench` flags they give
// (docs/performance.md, "Measuring the S3 model").
//
//	go -C tools run ./cmd/s3probe -bucket <bucket> [-region us-east-1] [-prefix s3-probe]
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/s3"

	"github.com/Sage-Bionetworks/synapse-docker-registry/tools/internal/bench"
)

func main() {
	fs := flag.NewFlagSet("s3probe", flag.ExitOnError)
	bucket := fs.String("bucket", "", "the `bucket` to write to (required): one in the image bucket's Region")
	region := fs.String("region", "", "the bucket's `Region`; empty: AWS_REGION or the shared config's")
	cfg := bench.ProbeConfig{Prefix: "s3-probe", Requests: 50, Size: 64 * bench.MiB}
	fs.StringVar(&cfg.Prefix, "prefix", cfg.Prefix, "where to write, under a random directory of its own; not under docker/")
	fs.IntVar(&cfg.Requests, "requests", cfg.Requests, "small requests timed of each kind")
	fs.Int64Var(&cfg.Size, "bytes", cfg.Size, "bytes of the one upload and download timed")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go -C tools run ./cmd/s3probe -bucket <bucket> [flags]\n\nMeasures S3's small-request latency and one connection's rate from here, and prints the benchmark's S3 model flags at those figures (docs/performance.md, \"Measuring the S3 model\"). Credentials: the AWS SDK's default chain.\n\n")
		fs.PrintDefaults()
	}
	_ = fs.Parse(os.Args[1:])
	if *bucket == "" || fs.NArg() > 0 {
		fs.Usage()
		os.Exit(2)
	}
	// No retries: a retry would hide in the times.
	awsCfg := aws.NewConfig().WithMaxRetries(0).WithHTTPClient(bench.OneConnection(http.DefaultTransport.(*http.Transport).Clone()))
	if *region != "" {
		awsCfg = awsCfg.WithRegion(*region)
	}
	sess, err := session.NewSessionWithOptions(session.Options{Config: *awsCfg, SharedConfigState: session.SharedConfigEnable})
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3probe: AWS session:", err)
		os.Exit(1)
	}
	cfg.S3, cfg.Bucket = s3.New(sess), *bucket
	res, err := bench.Probe(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3probe:", err)
		os.Exit(1)
	}
	bench.WriteProbe(os.Stdout, fmt.Sprintf("here to s3://%s (%s)", *bucket, aws.StringValue(sess.Config.Region)), cfg, res)
}
