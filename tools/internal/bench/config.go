package bench

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/registrytest"
)

// Config is what one benchmark measures; every field is a flag.
type Config struct {
	// Size is the image's total layer bytes, split evenly over Layers.
	Size   int64
	Layers int
	// Runs measured runs of each figure follow Warmup discarded ones.
	Runs, Warmup int
	// PullConcurrency and PushConcurrency are the numbers of clients pulling
	// or pushing the image at once; each figure is measured at every level.
	PullConcurrency, PushConcurrency []int
	// Jobs is how many layers one client moves at once (go-containerregistry's
	// default is 4; docker pulls 3 and pushes 5 at a time).
	Jobs int
	// S3TLS serves the S3 stand-in over HTTPS, as S3 is reached in production.
	S3TLS bool
	// S3ConnRate (bytes/s per connection) and S3Latency (per request) are S3
	// as AWS documents it; S3Slowdown divides the rate and multiplies the
	// latency alike, so that the whole S3 side runs that many times slower
	// and this machine's CPUs are not what limits the transfers (see
	// S3Model). S3Parts is how many parts or ranges the direct transfers
	// (the ceiling) keep in flight per blob, as the AWS SDKs' transfer
	// managers do.
	S3ConnRate float64
	S3Latency  time.Duration
	S3Slowdown float64
	S3Parts    int
	// RegistryEnv adds variables to every registry's environment, for the Go
	// runtime (GOGC, GOMEMLIMIT, GODEBUG...); never the configuration's.
	RegistryEnv []string
	// SingleLayer is the size of the one-layer image pushed on its own (the
	// single-layer target), SingleRuns its measured runs; 0 skips it.
	SingleLayer int64
	SingleRuns  int
	// VerifyLayer is the size of one layer pushed once through the registry
	// and checked against its digest as stored in S3; 0 skips it.
	VerifyLayer int64
	// Short is a quick check: small image, one measured run.
	Short bool
	// Write is the Markdown file whose "## Benchmark" section receives the
	// results ("" writes nothing).
	Write string
}

// DefaultConfig is `make bench`.
func DefaultConfig() Config {
	return Config{
		Size: GiB, Layers: 4, Runs: 3, Warmup: 1,
		PullConcurrency: []int{1, 8}, PushConcurrency: []int{1, 8},
		Jobs: 4, S3TLS: true,
		SingleLayer: 4 * GiB, SingleRuns: 3, VerifyLayer: 10 * GiB,
		S3ConnRate: DefaultS3ConnRate, S3Latency: DefaultS3Latency, S3Slowdown: DefaultS3Slowdown, S3Parts: DefaultS3Parts,
	}
}

// The S3 model's defaults (docs/performance.md, "The S3 model").
const (
	// DefaultS3ConnRate: AWS's S3 performance guidance puts one connection
	// at about 85–90 MB/s; the low end.
	DefaultS3ConnRate = 85e6
	// DefaultS3Latency: AWS's S3 performance design patterns quote first-byte
	// latencies of roughly 100–200 ms; the low end, for a task in the
	// bucket's Region.
	DefaultS3Latency = 100 * time.Millisecond
	// DefaultS3Slowdown: 2 shared CPUs cannot move 85 MB/s on each of dozens
	// of connections; at a tenth of the rate (and ten times the latency) the
	// ceiling is S3's model, not this machine's CPU.
	DefaultS3Slowdown = 10
	// DefaultS3Parts: the AWS SDKs' upload and download managers keep 5
	// parts in flight by default (aws-sdk-go s3manager.DefaultUploadConcurrency).
	DefaultS3Parts = 5
)

// S3Model is the stand-in's behaviour these settings describe.
func (c Config) S3Model() registrytest.S3Model {
	slow := max(c.S3Slowdown, 1)
	return registrytest.S3Model{ConnRate: c.S3ConnRate / slow, Latency: time.Duration(float64(c.S3Latency) * slow)}
}

// shortConfig is what -short changes, unless given explicitly.
var shortConfig = map[string]string{"size": "256MiB", "layers": "2", "runs": "1", "warmup": "0",
	"single-layer": "512MiB", "single-runs": "1", "verify-layer": "0"}

// RegisterFlags defines c's flags on fs, with c's values as defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.Var(sizeFlag{&c.Size}, "size", "total `bytes` of the image's layers (e.g. 1GiB, 512MiB); at least 1 GiB for the recorded figures")
	fs.IntVar(&c.Layers, "layers", c.Layers, "number of layers the image is split into")
	fs.IntVar(&c.Runs, "runs", c.Runs, "measured runs per figure (the median is reported)")
	fs.IntVar(&c.Warmup, "warmup", c.Warmup, "discarded warm-up runs before the measured ones")
	fs.Var(intsFlag{&c.PullConcurrency}, "pull-concurrency", "`list` of numbers of concurrent pullers, e.g. 1,8")
	fs.Var(intsFlag{&c.PushConcurrency}, "push-concurrency", "`list` of numbers of concurrent pushers, e.g. 1,8 (peak memory is measured at each)")
	fs.IntVar(&c.Jobs, "jobs", c.Jobs, "layers each client pulls or pushes at once")
	fs.BoolVar(&c.S3TLS, "s3-tls", c.S3TLS, "serve the S3 stand-in over HTTPS (as production reaches S3)")
	fs.Var(sizeFlag{&c.SingleLayer}, "single-layer", "`bytes` of the one-layer image pushed alone, straight to S3 and through the registry (0: skip)")
	fs.IntVar(&c.SingleRuns, "single-runs", c.SingleRuns, "measured runs of the single-layer push")
	fs.Var(sizeFlag{&c.VerifyLayer}, "verify-layer", "`bytes` of one layer pushed once through the registry and verified by digest as S3 stores it (0: skip)")
	fs.Float64Var(&c.S3ConnRate, "s3-conn-rate", c.S3ConnRate, "S3 model: `bytes/s` per connection and direction before -s3-slowdown (AWS: 85-90 MB/s); 0: no cap")
	fs.DurationVar(&c.S3Latency, "s3-latency", c.S3Latency, "S3 model: wait before each request is served, before -s3-slowdown (AWS: 100-200 ms first byte); 0: none")
	fs.Float64Var(&c.S3Slowdown, "s3-slowdown", c.S3Slowdown, "S3 model: run S3 this many `times` slower (rate divided, latency multiplied) so this machine's CPUs are not the limit; 1: AWS's figures as they are")
	fs.IntVar(&c.S3Parts, "s3-parts", c.S3Parts, "parts (uploads) and ranges (downloads) the direct transfers keep in flight per blob, like the AWS SDKs' transfer managers")
	fs.Var(envFlag{&c.RegistryEnv}, "registry-env", "`NAME=VALUE` added to every registry's environment, e.g. GOMEMLIMIT=1536MiB (repeatable; not SYNAPSE_REGISTRY_* or REGISTRY_*: the configuration is the deployed one)")
	fs.BoolVar(&c.Short, "short", c.Short, "quick check (about 10 minutes under the S3 model): -size 256MiB -layers 2 -runs 1 -warmup 0 unless set; never written")
	fs.StringVar(&c.Write, "write", c.Write, "Markdown `file` whose \"## Benchmark\" section gets the results, e.g. docs/performance.md")
}

// ApplyShort sets the short mode's values of the flags not set explicitly.
func (c *Config) ApplyShort(fs *flag.FlagSet) error {
	if !c.Short {
		return nil
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, v := range shortConfig {
		if !set[name] {
			if err := fs.Set(name, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// registryEnv is RegistryEnv as harness options.
func (c Config) registryEnv() map[string]string {
	env := map[string]string{}
	for _, kv := range c.RegistryEnv {
		name, value, _ := strings.Cut(kv, "=")
		env[name] = value
	}
	return env
}

// envFlag is a repeatable NAME=VALUE flag.
type envFlag struct{ p *[]string }

func (f envFlag) String() string {
	if f.p == nil {
		return ""
	}
	return strings.Join(*f.p, " ")
}

func (f envFlag) Set(s string) error {
	*f.p = append(*f.p, s)
	return nil
}

// LayerSize is the size of each layer: Size / Layers, down to a multiple of
// 512 (the layers are tar archives).
func (c Config) LayerSize() int64 { return c.Size / int64(c.Layers) / 512 * 512 }

// Validate reports every unusable setting at once.
func (c Config) Validate() error {
	var problems []string
	if c.Layers < 1 {
		problems = append(problems, "-layers must be at least 1")
	} else if c.LayerSize() < 5*MiB {
		problems = append(problems, fmt.Sprintf("-size %s over %d layers is under 5 MiB a layer", FormatSize(c.Size), c.Layers))
	}
	if c.Runs < 1 {
		problems = append(problems, "-runs must be at least 1")
	}
	if c.Warmup < 0 {
		problems = append(problems, "-warmup must not be negative")
	}
	if c.S3ConnRate < 0 || c.S3Latency < 0 || c.S3Slowdown < 1 {
		problems = append(problems, "-s3-conn-rate and -s3-latency must not be negative and -s3-slowdown must be at least 1")
	}
	if c.SingleLayer < 0 || c.VerifyLayer < 0 || (c.SingleLayer > 0 && c.SingleRuns < 1) {
		problems = append(problems, "-single-layer and -verify-layer must not be negative, -single-runs at least 1")
	}
	if c.S3Parts < 1 {
		problems = append(problems, "-s3-parts must be at least 1")
	}
	if c.Jobs < 1 {
		problems = append(problems, "-jobs must be at least 1")
	}
	if len(c.PullConcurrency) == 0 || len(c.PushConcurrency) == 0 {
		problems = append(problems, "-pull-concurrency and -push-concurrency need at least one level")
	}
	for _, kv := range c.RegistryEnv {
		name, _, ok := strings.Cut(kv, "=")
		switch {
		case !ok || name == "":
			problems = append(problems, fmt.Sprintf("-registry-env %q is not NAME=VALUE", kv))
		case strings.HasPrefix(name, "SYNAPSE_REGISTRY_") || strings.HasPrefix(name, "REGISTRY_"):
			problems = append(problems, fmt.Sprintf("-registry-env %s would change the deployed configuration, which is what the benchmark measures", name))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// Args are the flags that reproduce c, for the record.
func (c Config) Args() string {
	args := []string{
		"-size " + strings.ReplaceAll(FormatSize(c.Size), " ", ""),
		fmt.Sprintf("-layers %d", c.Layers),
		fmt.Sprintf("-runs %d", c.Runs),
		fmt.Sprintf("-warmup %d", c.Warmup),
		"-pull-concurrency " + intsFlag{&c.PullConcurrency}.String(),
		"-push-concurrency " + intsFlag{&c.PushConcurrency}.String(),
		fmt.Sprintf("-jobs %d", c.Jobs),
		fmt.Sprintf("-s3-tls=%v", c.S3TLS),
		"-single-layer " + strings.ReplaceAll(FormatSize(c.SingleLayer), " ", "") + fmt.Sprintf(" -single-runs %d", c.SingleRuns),
		"-verify-layer " + strings.ReplaceAll(FormatSize(c.VerifyLayer), " ", ""),
		fmt.Sprintf("-s3-conn-rate %g -s3-latency %v -s3-slowdown %g -s3-parts %d", c.S3ConnRate, c.S3Latency, c.S3Slowdown, c.S3Parts),
	}
	for _, kv := range c.RegistryEnv {
		args = append(args, "-registry-env "+kv)
	}
	return strings.Join(args, " ")
}
