package bench

import (
	"fmt"
	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// The targets of issue #6.
const (
	// PullRatioTarget: pulls through the registry reach at least this share
	// of the throughput straight from S3.
	PullRatioTarget = 0.90
	// PullCPURatioTarget: the registry's CPU per GiB pulled with redirects on
	// is at most this share of the figure with redirects off.
	PullCPURatioTarget = 0.05
	// PushRatioTarget: pushes through the registry reach at least this share
	// of uploading the same bytes straight to S3 as a good client does
	// (concurrent multipart), one layer alone and many at once (issue #12).
	PushRatioTarget = 0.70
	// Notifications Synapse receives per pushed and per pulled image.
	NotificationsPerPushTarget = 1
	NotificationsPerPullTarget = 0
	// BuffersPerUpload is how many chunk sizes of memory one upload can hold
	// in the registry: the s3-concurrent driver's part buffers, fixed in
	// size, one being filled and up to S3PartsInFlight uploading.
	BuffersPerUpload = registryconfig.S3PartsInFlight + 1
	// UploadOverhead is what one upload holds besides its part buffers: the
	// small buffer its first bytes go to (1 MiB), for each part in flight an
	// HTTPS connection to S3 (TLS and HTTP buffers) and the goroutines
	// sending it, and the garbage made between the collections the driver
	// starts every 256 MiB of part buffers taken. One 4 GiB layer alone
	// peaked about 6 MiB above its buffers (docs/performance.md, "Memory per
	// upload").
	UploadOverhead = 8 * MiB
)

// TodayRegistryCPUPerGiBPushed is registry 3.1.1's own s3 driver's CPU per
// GiB pushed under the S3 model, by number of clients: the -short run of
// 2026-12-02 03:50 UTC on this project's 2-CPU benchmark machine (issue #12,
// docs/performance.md, "Today's push against the S3 model"). The target is
// to be no worse; on another machine, measure today's first.
var TodayRegistryCPUPerGiBPushed = map[int]float64{1: 7.24, 8: 6.17}

// Verdict says whether a figure meets its target.
type Verdict int

const (
	Info   Verdict = iota // no target: context for the others
	Met                   // meets its target
	NotMet                // misses its target
)

func (v Verdict) String() string {
	switch v {
	case Met:
		return "met"
	case NotMet:
		return "**not met**"
	}
	return ""
}

func verdict(ok bool) Verdict {
	if ok {
		return Met
	}
	return NotMet
}

// Row is one line of the table.
type Row struct {
	Figure, Measured, Target string
	Verdict                  Verdict
}

func throughput(rs Runs) string {
	ts := rs.Throughputs()
	if len(ts) == 0 {
		return "n/a"
	}
	s := fmt.Sprintf("%.0f MiB/s", Median(ts)/MiB)
	if len(ts) > 1 {
		s += fmt.Sprintf(" (%.0f–%.0f)", slices.Min(ts)/MiB, slices.Max(ts)/MiB)
	}
	return s
}

func pct(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "n/a"
	}
	if x < 0.1 {
		return strings.TrimSuffix(fmt.Sprintf("%.1f", x*100), ".0") + " %"
	}
	return fmt.Sprintf("%.0f %%", x*100)
}

func clients(c int) string {
	if c == 1 {
		return "1 client"
	}
	return fmt.Sprintf("%d clients at once", c)
}

// MemoryBound is the peak resident memory the chunk size allows a registry
// with uploads layer uploads in flight: each holds up to BuffersPerUpload
// chunks and UploadOverhead, on top of the process at rest (base).
func MemoryBound(uploads int, chunk int64, base float64) float64 {
	return float64(uploads)*PerUploadBound(chunk) + base
}

// PerUploadBound is the memory one upload holds at most.
func PerUploadBound(chunk int64) float64 {
	return BuffersPerUpload*float64(chunk) + UploadOverhead
}

// boundText is the memory bound's formula for the table.
func boundText(uploads int, chunk int64, bound float64) string {
	return fmt.Sprintf("≤ %d × (%d × %s + %s) + idle = %s", uploads, BuffersPerUpload, FormatSize(chunk), FormatSize(UploadOverhead), FormatSize(int64(bound)))
}

// cpuRow is the CPU per GiB pushed at c clients, with the registry's part
// held to today's driver's where it was measured.
func cpuRow(c int, p *PushResult) Row {
	reg := p.Registry.CPUPerGiB()
	row := Row{Figure: "CPU per GiB pushed, " + clients(c) + ", every process (clients, registry, S3 stand-in)",
		Measured: fmt.Sprintf("straight to S3 %.2f s; through the registry %.2f s, of which the registry %.2f s (%.0f MiB/s per CPU)",
			p.Direct.LocalCPUPerGiB(), p.Registry.LocalCPUPerGiB()+reg, reg, GiB/MiB/reg)}
	if today, ok := TodayRegistryCPUPerGiBPushed[c]; ok {
		row.Target = fmt.Sprintf("registry ≤ today's %.2f s", today)
		row.Verdict = verdict(reg <= today)
	}
	return row
}

func sortedKeys[V any](m map[int]V) []int {
	var ks []int
	for k := range m {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	return ks
}

// Rows are the table: every figure, its target and whether it is met.
func (r *Results) Rows() []Row {
	var rows []Row
	for _, c := range sortedKeys(r.Pull) {
		p := r.Pull[c]
		direct := p.Direct.MedianThroughput()
		ranged, on, off := p.Ranged.MedianThroughput()/direct, p.Redirect.MedianThroughput()/direct, p.Stream.MedianThroughput()/direct
		rows = append(rows,
			Row{Figure: "Pull, " + clients(c) + ": straight from S3 (" + FormatSize(RangeSize) + " ranges, " + fmt.Sprint(r.Config.S3Parts) + " at once per blob)", Measured: throughput(p.Direct)},
			Row{Figure: "Pull, " + clients(c) + ": through the registry, redirects on (deployed), the same ranges of the redirect",
				Measured: throughput(p.Ranged) + " = " + pct(ranged) + " of S3",
				Target:   "≥ " + pct(PullRatioTarget) + " of S3", Verdict: verdict(ranged >= PullRatioTarget)},
			Row{Figure: "Pull, " + clients(c) + ": through the registry, redirects on (deployed), one GET per layer",
				Measured: throughput(p.Redirect) + " = " + pct(on) + " of S3"},
			Row{Figure: "Pull, " + clients(c) + ": through the registry, redirects off",
				Measured: throughput(p.Stream) + " = " + pct(off) + " of S3"},
		)
		cpuOn, cpuOff := p.Redirect.CPUPerGiB(), p.Stream.CPUPerGiB()
		rows = append(rows, Row{
			Figure:   "Registry CPU per GiB pulled, " + clients(c) + ": redirects on vs off",
			Measured: fmt.Sprintf("%.3f s vs %.2f s = %s", cpuOn, cpuOff, pct(cpuOn/cpuOff)),
			Target:   "≤ " + pct(PullCPURatioTarget), Verdict: verdict(cpuOn <= PullCPURatioTarget*cpuOff),
		})
	}
	for _, c := range sortedKeys(r.Push) {
		p := r.Push[c]
		ratio := p.Registry.MedianThroughput() / p.Direct.MedianThroughput()
		peak, base := p.Registry.MedianPeak(), p.Registry.MedianBase()
		bound := MemoryBound(p.Uploads, r.ChunkSize, base)
		rows = append(rows,
			Row{Figure: "Push, " + clients(c) + ": straight to S3 (multipart, " + FormatSize(r.ChunkSize) + " parts, " + fmt.Sprint(r.Config.S3Parts) + " at once per blob)", Measured: throughput(p.Direct)},
			Row{Figure: "Push, " + clients(c) + ": through the registry",
				Measured: throughput(p.Registry) + " = " + pct(ratio) + " of S3",
				Target:   "≥ " + pct(PushRatioTarget) + " of S3", Verdict: verdict(ratio >= PushRatioTarget)},
			cpuRow(c, p),
			Row{Figure: fmt.Sprintf("Registry peak memory, %s (%d layer uploads in flight)", clients(c), p.Uploads),
				Measured: fmt.Sprintf("%s (idle: %s)", FormatSize(int64(peak)), FormatSize(int64(base))),
				Target:   boundText(p.Uploads, r.ChunkSize, bound),
				Verdict:  verdict(peak <= bound)},
		)
	}
	if p := r.Single; p != nil && len(p.Direct) > 0 {
		size := FormatSize(r.Config.SingleLayer / 512 * 512)
		ratio := p.Registry.MedianThroughput() / p.Direct.MedianThroughput()
		peak, base := p.Registry.MedianPeak(), p.Registry.MedianBase()
		bound := MemoryBound(1, r.ChunkSize, base)
		rows = append(rows,
			Row{Figure: "Push, one " + size + " layer alone: straight to S3 (multipart, " + fmt.Sprint(r.Config.S3Parts) + " parts at once)", Measured: throughput(p.Direct)},
			Row{Figure: "Push, one " + size + " layer alone: through the registry",
				Measured: throughput(p.Registry) + " = " + pct(ratio) + " of S3",
				Target:   "≥ " + pct(PushRatioTarget) + " of S3", Verdict: verdict(ratio >= PushRatioTarget)},
			Row{Figure: "Registry peak memory, one " + size + " layer alone (1 upload)",
				Measured: fmt.Sprintf("%s (idle: %s)", FormatSize(int64(peak)), FormatSize(int64(base))),
				Target:   boundText(1, r.ChunkSize, bound),
				Verdict:  verdict(peak <= bound)},
		)
		if len(p.S3) > 0 {
			rows = append(rows, Row{Figure: "S3 requests of one push of the " + size + " layer alone through the registry (config and layer)",
				Measured: fmt.Sprintf("%d: %s", p.S3.Total(), p.S3)})
		}
	}
	if v := r.Verify; v != nil {
		m := fmt.Sprintf("stored bytes have the layer's digest; %.0f s (%.0f MiB/s)", v.Seconds, float64(v.Size)/MiB/v.Seconds)
		if v.Err != nil {
			m = "failed: " + v.Err.Error()
		}
		rows = append(rows, Row{Figure: "Push, one " + FormatSize(v.Size) + " layer through the registry, verified by digest in S3",
			Measured: m, Target: "succeeds, digest matches", Verdict: verdict(v.Err == nil)})
	}
	if syn, all := r.Notify["synapse"], r.Notify["all"]; syn != nil && all != nil {
		rows = append(rows,
			notifyRow("push", syn.PerPush, all.PerPush, all.PushEvents, NotificationsPerPushTarget, syn.Commits),
			notifyRow("pull", syn.PerPull, all.PerPull, all.PullEvents, NotificationsPerPullTarget, nil))
	}
	return rows
}

// notifyRow reports what Synapse received through the relay; commits, if
// given, are the pushes it recorded per run.
func notifyRow(op string, deployed, all []int, kinds map[string]int, target int, commits []int) Row {
	med := func(xs []int) string {
		var fs []float64
		for _, x := range xs {
			fs = append(fs, float64(x))
		}
		return trimFloat(Median(fs))
	}
	ok := len(deployed) > 0
	for _, n := range deployed {
		ok = ok && n == target
	}
	var parts []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range kinds {
			if !yield(k) {
				return
			}
		}
	}) {
		parts = append(parts, fmt.Sprintf("%d %s", kinds[k], k))
	}
	measured := fmt.Sprintf("%s through the relay and SQS (every event sent straight to Synapse: %s = %s)", med(deployed), med(all), strings.Join(parts, " + "))
	if commits != nil {
		measured += fmt.Sprintf("; %s recorded by Synapse", med(commits))
	}
	return Row{
		Figure:   "Requests Synapse receives per image " + op,
		Measured: measured,
		Target:   fmt.Sprint(target), Verdict: verdict(ok),
	}
}

// Table renders rows as a Markdown table.
func Table(rows []Row) string {
	var b strings.Builder
	b.WriteString("| Figure | Measured (median) | Target | Result |\n|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", cell(r.Figure), cell(r.Measured), cell(r.Target), r.Verdict)
	}
	return b.String()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// Summary is the table with what it was measured on and how, and which
// targets are met: what the bench command (`make bench`) prints and writes.
func (r *Results) Summary() string {
	rows := r.Rows()
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "Measured %s in %s with `make bench BENCH_FLAGS='%s'`.\n\n", r.Started.UTC().Format("2006-01-02 15:04 MST"),
		r.Duration.Round(time.Second), r.Config.Args())
	fmt.Fprintf(&b, "Machine: %s, %d logical CPUs, %s of memory, %s, %s.\n\n", m.CPU, m.Cores, FormatSize(m.Memory), m.OS, m.Go)
	layer := r.Config.LayerSize()
	s3 := "plain HTTP"
	if r.Config.S3TLS {
		s3 = "HTTPS"
	}
	fmt.Fprintf(&b, "Image: %s in %d random uncompressed layers of %s, plus its config; each figure is the median of %s after %s (min–max in parentheses; CPU figures sum all measured runs); each client moves %d layers at once; the S3 stand-in speaks %s.\n\n",
		FormatSize(r.ImageBytes), r.Config.Layers, FormatSize(layer), plural(r.Config.Runs, "run"), plural(r.Config.Warmup, "warm-up run"), r.Config.Jobs, s3)
	if m := r.Config.S3Model(); m.ConnRate > 0 || m.Latency > 0 {
		fmt.Fprintf(&b, "S3 model: each connection capped at %s/s per direction and %v before each request: AWS's %.0f MB/s and %v, %g times slower (see \"The S3 model\").\n\n",
			FormatSize(int64(m.ConnRate)), m.Latency, r.Config.S3ConnRate/1e6, r.Config.S3Latency, r.Config.S3Slowdown)
	} else {
		b.WriteString("S3 model: off (loopback, no cap, no latency).\n\n")
	}
	b.WriteString(Table(rows))
	var met, total int
	var missed []string
	for _, row := range rows {
		if row.Verdict == Info {
			continue
		}
		total++
		if row.Verdict == Met {
			met++
		} else {
			missed = append(missed, row.Figure)
		}
	}
	fmt.Fprintf(&b, "\nTargets met: %d of %d.", met, total)
	if len(missed) > 0 {
		fmt.Fprintf(&b, " Not met: %s.", strings.Join(missed, "; "))
	}
	b.WriteString("\n")
	return b.String()
}

// Markers delimit the generated part of the "## Benchmark" section.
const (
	BeginMarker = "<!-- bench:begin: written by `make bench WRITE=1`; edits up to bench:end are overwritten -->"
	EndMarker   = "<!-- bench:end -->"
	sectionHead = "## Benchmark"
	costHead    = "## Cost"
)

// UpdateSection puts block between the markers of doc's "## Benchmark"
// section and leaves everything else as it is. Without markers, they go at
// the end of that section; without the section, a new one goes before
// "## Cost" (or at the end).
func UpdateSection(doc, block string) string {
	generated := BeginMarker + "\n\n" + strings.TrimSpace(block) + "\n\n" + EndMarker
	if i := strings.Index(doc, BeginMarker); i >= 0 {
		if j := strings.Index(doc[i:], EndMarker); j >= 0 {
			return doc[:i] + generated + doc[i+j+len(EndMarker):]
		}
	}
	lines := strings.SplitAfter(doc, "\n")
	head := -1
	for i, l := range lines {
		if strings.TrimSpace(l) == sectionHead {
			head = i
			break
		}
	}
	if head >= 0 {
		end := len(lines)
		for i := head + 1; i < len(lines); i++ {
			if strings.HasPrefix(lines[i], "## ") || strings.HasPrefix(lines[i], "# ") {
				end = i
				break
			}
		}
		before := strings.TrimRight(strings.Join(lines[:end], ""), "\n")
		return before + "\n\n" + generated + "\n\n" + strings.Join(lines[end:], "")
	}
	section := sectionHead + "\n\n`make bench` measures the registry on this machine.\n\n" + generated + "\n\n"
	for i, l := range lines {
		if strings.TrimSpace(l) == costHead {
			return strings.Join(lines[:i], "") + section + strings.Join(lines[i:], "")
		}
	}
	return strings.TrimRight(doc, "\n") + "\n\n" + section
}

// WriteSection updates the "## Benchmark" section of the Markdown file at
// path, reading it right before writing so that other sections edited
// meanwhile are kept.
func WriteSection(path, block string) error {
	doc, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	if len(doc) == 0 {
		doc = []byte("# Performance and cost\n")
	}
	out := UpdateSection(string(doc), block)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".bench-*.md")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(out); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
