package synth

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	multierror "github.com/hashicorp/go-multierror"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Main is the body of cmd/synth:
//
//	synth -stack dev [-dir .] [-out build/synth] [-strict] [-quiet]
//
// It loads the stack's config (secrets replaced by placeholders: see
// LoadOptions.Placeholders), runs program under the mocks, writes
// <out>/<stack>.json and prints the summary to stdout; warnings go to
// stderr. On a config or program error it prints the message `pulumi
// preview` would and returns 1 (2 for bad usage). opts go to Run, e.g. the
// same extra mocks the snapshot test uses, so both see the same resources.
func Main(args []string, program func(ctx *pulumi.Context) error, placeholders map[string]string,
	stdout, stderr io.Writer, opts ...Option) int {
	fs := flag.NewFlagSet("synth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := fs.String("stack", "", "stack to synthesize: any stack with a Pulumi.<stack>.yaml, e.g. dev (required)")
	dir := fs.String("dir", ".", "directory of Pulumi.yaml (searched upwards, like the Pulumi CLI)")
	out := fs.String("out", filepath.Join("build", "synth"), "directory for <stack>.json")
	strict := fs.Bool("strict", false, "fail, as `pulumi preview` would, on a declared secret the stack has not set instead of using a placeholder")
	quiet := fs.Bool("quiet", false, "write the JSON but print no summary")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: synth -stack <name> [-dir .] [-out build/synth] [-strict] [-quiet]")
		fmt.Fprintln(stderr, "Runs the Pulumi program under mocks with the stack's config; needs no cloud credentials.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *stack == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}

	cfg, warnings, err := LoadStack(*dir, *stack, LoadOptions{Strict: *strict, Placeholders: placeholders})
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w.Message)
	}
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	}

	var bodyErr error
	res, err := Run(func(ctx *pulumi.Context) error {
		bodyErr = program(ctx)
		return bodyErr
	}, cfg, opts...)
	if err != nil {
		// Run returns the program's own error whenever there is one.
		fmt.Fprintln(stderr, PreviewMessage(err, bodyErr != nil))
		return 1
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}

	data, err := res.JSON()
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	}
	path := filepath.Join(*out, cfg.Stack+".json")
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	}
	if !*quiet {
		res.Summary(stdout)
	}
	fmt.Fprintf(stdout, "wrote %s (%d resources)\n", path, len(res.Resources))
	return 0
}

// PreviewMessage renders a Run error as `pulumi preview` shows it. An error
// the program returned is reported the way the Go SDK's pulumi.Run logs it;
// a panic as the Go runtime prints it; anything else (a failed
// registration) as the engine does.
func PreviewMessage(err error, fromProgram bool) string {
	var p *PanicError
	switch {
	case errors.As(err, &p):
		return strings.TrimRight(fmt.Sprintf("panic: %v\n\n%s", p.Value, p.Stack), "\n")
	case fromProgram:
		// pulumi.Run: "an unhandled error occurred: program failed: \n%v" of
		// the multierror that RunWithContext wraps the program's error in.
		return "error: an unhandled error occurred: program failed:\n" +
			strings.TrimRight(multierror.Append(nil, err).Error(), "\n")
	default:
		return "error: " + err.Error()
	}
}
