package cost

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
)

// Main is the cost command (`make cost`): it reads the stack's synth JSON (written by `make synth`), estimates
// the stack and today's design under the assumptions and prints the report. It returns the exit
// code: 0 printed, 2 bad usage or no synth output. Missing the 70 % target is reported, not an
// error.
func Main(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("cost", flag.ContinueOnError)
	fl.SetOutput(stderr)
	stack := fl.String("stack", "dev", "stack to estimate; prod is estimated with prod's usage assumptions, any other stack (dev, an engineer's own) with dev's")
	synthPath := fl.String("synth", "", "synth JSON to read (default build/synth/<stack>.json, written by `make synth STACK=<stack>`)")
	overrides := Overrides{}
	Register(fl, overrides)
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: make cost STACK=<stack> COST_FLAGS='[-synth FILE] [assumption flags]'")
		fmt.Fprintln(stderr, "Estimates the stack's monthly cost from its declared resources and compares it with today's CDK design.")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments: %v\n", fl.Args())
		fl.Usage()
		return 2
	}
	if *stack == "" {
		fmt.Fprintln(stderr, "-stack is empty: name the stack to estimate, e.g. -stack dev")
		return 2
	}
	path := *synthPath
	if path == "" {
		path = filepath.Join("build", "synth", *stack+".json")
	}
	s, err := LoadSynth(path)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stderr, "%s does not exist: run `make synth STACK=%s` first (`make cost` does it for you)\n", path, *stack)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return 2
	}
	if s.Stack != *stack {
		fmt.Fprintf(stderr, "%s is the synth output of stack %q, not %q: run `make synth STACK=%s`\n", path, s.Stack, *stack, *stack)
		return 2
	}
	a := overrides.Apply(Defaults(*stack))
	if err := a.Validate(); err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return 2
	}
	NewReport(s, filepath.ToSlash(path), a).Write(stdout)
	return 0
}
