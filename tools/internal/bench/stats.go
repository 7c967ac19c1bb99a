package bench

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Binary size units.
const (
	KiB = 1 << 10
	MiB = 1 << 20
	GiB = 1 << 30
)

// Median is the middle value of xs (the mean of the two middle values for an
// even count); NaN for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Sample is one measured run of a phase.
type Sample struct {
	Bytes   int64   // image bytes moved (all concurrent clients together)
	Seconds float64 // wall time
	CPU     float64 // registry CPU seconds during the run; 0 where no registry is involved
	// LocalCPU is this process's CPU seconds during the run: the clients,
	// the S3 stand-in and the Synapse stand-in.
	LocalCPU float64
	Memory   Memory // registry resident memory: RSS before the run, peak (VmHWM) after it
}

// Throughput is bytes per second.
func (r Sample) Throughput() float64 { return float64(r.Bytes) / r.Seconds }

// Runs are the measured runs of one phase (warm-up runs excluded).
type Runs []Sample

// Throughputs are the runs' throughputs, in bytes per second.
func (rs Runs) Throughputs() []float64 {
	var out []float64
	for _, r := range rs {
		out = append(out, r.Throughput())
	}
	return out
}

// MedianThroughput is the median of the runs' throughputs.
func (rs Runs) MedianThroughput() float64 { return Median(rs.Throughputs()) }

// CPUPerGiB is the registry CPU seconds per GiB moved, over all runs
// together: the kernel counts CPU time in 10 ms ticks, too coarse to divide
// run by run when the registry does almost nothing (redirects).
func (rs Runs) CPUPerGiB() float64 { return rs.perGiB(func(r Sample) float64 { return r.CPU }) }

// LocalCPUPerGiB is LocalCPU per GiB moved, over all runs together.
func (rs Runs) LocalCPUPerGiB() float64 {
	return rs.perGiB(func(r Sample) float64 { return r.LocalCPU })
}

// perGiB sums a per-run quantity over all runs and divides by the GiB they moved.
func (rs Runs) perGiB(quantity func(Sample) float64) float64 {
	var total float64
	var bytes int64
	for _, r := range rs {
		total += quantity(r)
		bytes += r.Bytes
	}
	return total / (float64(bytes) / GiB)
}

// MedianPeak is the median of the runs' peak resident memory, and MedianBase
// that of the resident memory before each run.
func (rs Runs) MedianPeak() float64 {
	var xs []float64
	for _, r := range rs {
		xs = append(xs, float64(r.Memory.Peak))
	}
	return Median(xs)
}

// MedianBase is the median resident memory before the runs.
func (rs Runs) MedianBase() float64 {
	var xs []float64
	for _, r := range rs {
		xs = append(xs, float64(r.Memory.RSS))
	}
	return Median(xs)
}

// ParseSize reads a byte count such as "1GiB", "256MiB", "64KiB" or "1048576".
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) {
		return 0, fmt.Errorf("size %q: want a number of bytes, optionally with KiB, MiB or GiB", s)
	}
	return int64(f * float64(mult)), nil
}

// FormatSize writes n in the largest binary unit that keeps it at least 1.
func FormatSize(n int64) string {
	switch {
	case n >= GiB:
		return trimFloat(float64(n)/GiB) + " GiB"
	case n >= MiB:
		return trimFloat(float64(n)/MiB) + " MiB"
	case n >= KiB:
		return trimFloat(float64(n)/KiB) + " KiB"
	}
	return fmt.Sprintf("%d B", n)
}

func trimFloat(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(strconv.FormatFloat(f, 'f', 2, 64), "0"), ".")
}

// sizeFlag is a flag.Value for sizes.
type sizeFlag struct{ p *int64 }

func (f sizeFlag) String() string {
	if f.p == nil {
		return ""
	}
	return FormatSize(*f.p)
}

func (f sizeFlag) Set(s string) error {
	n, err := ParseSize(s)
	if err == nil {
		*f.p = n
	}
	return err
}

// intsFlag is a flag.Value for comma-separated positive integers.
type intsFlag struct{ p *[]int }

func (f intsFlag) String() string {
	if f.p == nil {
		return ""
	}
	var s []string
	for _, n := range *f.p {
		s = append(s, strconv.Itoa(n))
	}
	return strings.Join(s, ",")
}

func (f intsFlag) Set(s string) error {
	var out []int
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 1 {
			return fmt.Errorf("%q: want comma-separated positive integers", s)
		}
		out = append(out, n)
	}
	*f.p = out
	return nil
}
