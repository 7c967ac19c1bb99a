package bench

import (
	"errors"
	"flag"
	"fmt"
	"strings"
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
	// RegistryEnv adds variables to every registry's environment, for the Go
	// runtime (GOGC, GOMEMLIMIT, GODEBUG...); never the configuration's.
	RegistryEnv []string
	// Short is a quick check: small image, one measured run.
	Short bool
	// Write is the Markdown file whose "## Benchmark" section receives the
	// results ("" writes nothing).
	Write string
}

// DefaultConfig is `make bench`.
func DefaultConfig() Config {
	return Config{
		Size: GiB, Layers: 4, Runs: 5, Warmup: 1,
		PullConcurrency: []int{1, 8}, PushConcurrency: []int{1, 8},
		Jobs: 4, S3TLS: true,
	}
}

// shortConfig is what -short changes, unless given explicitly.
var shortConfig = map[string]string{"size": "256MiB", "layers": "2", "runs": "1", "warmup": "0"}

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
	fs.Var(envFlag{&c.RegistryEnv}, "registry-env", "`NAME=VALUE` added to every registry's environment, e.g. GOMEMLIMIT=1536MiB (repeatable; not SYNAPSE_REGISTRY_* or REGISTRY_*: the configuration is the deployed one)")
	fs.BoolVar(&c.Short, "short", c.Short, "quick check in under a minute: -size 256MiB -layers 2 -runs 1 -warmup 0 unless set; never written")
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
	}
	for _, kv := range c.RegistryEnv {
		args = append(args, "-registry-env "+kv)
	}
	return strings.Join(args, " ")
}
