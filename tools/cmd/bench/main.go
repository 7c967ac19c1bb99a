// Command bench measures the registry with the deployed configuration on this
// machine (issue #6): pulls and pushes through the real registry against the
// same transfers straight to a local S3, the registry's CPU and peak memory,
// and the notifications Synapse receives. It prints one table and, with
// -write, puts it in the "## Benchmark" section of a Markdown file
// (docs/performance.md). It needs only Go: the registry, the S3 server and
// Synapse's token service and event listener all run on this machine.
//
//	make bench                          # measure and print
//	make bench WRITE=1                  # measure and write docs/performance.md
//	make bench BENCH_FLAGS=-short       # a quick check (minutes under the S3 model)
//	go -C tools run ./cmd/bench -h      # every flag
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/registrytest"
	"github.com/Sage-Bionetworks/synapse-docker-registry/tools/internal/bench"
)

func main() {
	// This binary is also the registry's entrypoint, the registry and the log
	// redactor that the harness starts as child processes.
	registrytest.RunChildIfRequested()

	cfg := bench.DefaultConfig()
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	cfg.RegisterFlags(fs)
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process (clients and stand-ins, not the registry) to `file`")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: make bench [WRITE=1] BENCH_FLAGS='[flags]'\n\nMeasures pulls, pushes, registry CPU and memory, and notifications with the deployed configuration (docs/performance.md, \"Benchmark\").\n\n")
		fs.PrintDefaults()
	}
	_ = fs.Parse(os.Args[1:])
	if fs.NArg() > 0 {
		fs.Usage()
		os.Exit(2)
	}
	if err := cfg.ApplyShort(fs); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(2)
		}
		defer f.Close()
	}
	res, err := bench.Run(cfg, os.Stderr)
	pprof.StopCPUProfile()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: failed:", err)
		os.Exit(1)
	}
	summary := res.Summary()
	fmt.Print("\n" + summary)
	switch {
	case cfg.Write == "":
	case cfg.Short:
		fmt.Fprintf(os.Stderr, "bench: -short results are a quick check; %s not written\n", cfg.Write)
	default:
		if err := bench.WriteSection(cfg.Write, summary); err != nil {
			fmt.Fprintln(os.Stderr, "bench: writing the results:", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "bench: wrote the results to %s\n", cfg.Write)
	}
}
