package bench

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/s3"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/registrytest"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/sqstest"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synapsestub"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{10, 1, 1, 1, 10}, 1},
	} {
		in := append([]float64(nil), c.in...)
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
		for i := range in {
			if in[i] != c.in[i] {
				t.Errorf("Median reordered its argument: %v", c.in)
			}
		}
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("Median of nothing is not NaN")
	}
}

// A fake /proc: the registry (100), its log redactor (101) and a grandchild
// (102), and an unrelated process (200) whose CPU must not count.
func fakeProc(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	write := func(pid, stat, status string) {
		if err := os.MkdirAll(filepath.Join(dir, pid), 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, pid, "stat"), []byte(stat+"\n"), 0o644)
		if status != "" {
			os.WriteFile(filepath.Join(dir, pid, "status"), []byte(status), 0o644)
		}
	}
	// Fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
	write("100", "100 (registry) S 1 100 100 0 -1 4194304 10 0 0 0 250 50 7 7 20 0 12 0", "Name:\tregistry\nVmHWM:\t  204800 kB\nVmRSS:\t   51200 kB\nThreads:\t12\n")
	write("101", "101 (a (weird) name) S 100 100 100 0 -1 4194304 10 0 0 0 30 20 0 0 20 0 1 0", "")
	write("102", "102 (x) R 101 100 100 0 -1 4194304 10 0 0 0 1 1 0 0 20 0 1 0", "")
	write("200", "200 (other) S 1 200 200 0 -1 4194304 10 0 0 0 9999 9999 0 0 20 0 1 0", "")
	os.MkdirAll(filepath.Join(dir, "self"), 0o755) // not a pid
	old := procRoot
	procRoot = dir
	t.Cleanup(func() { procRoot = old })
}

func TestProc(t *testing.T) {
	fakeProc(t)
	s, err := readStat(101)
	if err != nil || s.PPID != 100 || s.UTime != 30 || s.STime != 20 {
		t.Fatalf("stat of a process whose name has spaces and parentheses: %+v %v", s, err)
	}
	got, err := TreeCPU(100)
	if err != nil {
		t.Fatal(err)
	}
	// (250+50) + (30+20) + (1+1) ticks of 10 ms; not the children's cutime/cstime (7+7), not pid 200.
	if want := 3.52; math.Abs(got-want) > 1e-9 {
		t.Errorf("TreeCPU = %v s, want %v (the process and its descendants, utime+stime)", got, want)
	}
	if got, _ := ProcessCPU(100); math.Abs(got-3.0) > 1e-9 {
		t.Errorf("ProcessCPU = %v, want 3 (without descendants)", got)
	}
	m, err := ReadMemory(100)
	if err != nil || m.Peak != 200<<20 || m.RSS != 50<<20 {
		t.Errorf("ReadMemory = %+v, %v; want peak 200 MiB (VmHWM), RSS 50 MiB", m, err)
	}
	if _, err := parseStatus("VmRSS:\t1 kB\n"); err == nil {
		t.Error("status without VmHWM accepted")
	}
	if _, err := parseStat("100 registry S 1"); err == nil {
		t.Error("stat line without a name in parentheses accepted")
	}
}

// The real /proc: this process's CPU grows when it works.
func TestProcOfThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	before, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for start := time.Now(); time.Since(start) < 100*time.Millisecond; {
		x++
	}
	after, _ := ProcessCPU(os.Getpid())
	if after <= before {
		t.Errorf("CPU did not grow while busy: %v -> %v", before, after)
	}
	if m, err := ReadMemory(os.Getpid()); err != nil || m.RSS <= 0 || m.Peak < m.RSS {
		t.Errorf("own memory: %+v %v", m, err)
	}

	// A peak left by memory since returned is forgotten after a reset: each push run's peak is
	// its own, though one registry serves them all.
	big := make([]byte, 256<<20)
	for i := 0; i < len(big); i += 4096 {
		big[i] = 1
	}
	runtime.KeepAlive(big)
	big = nil
	debug.FreeOSMemory()
	high, err := ReadMemory(os.Getpid())
	if err != nil || high.Peak < 256<<20 {
		t.Fatalf("peak after touching 256 MiB: %+v %v", high, err)
	}
	if err := ResetPeakMemory(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if low, err := ReadMemory(os.Getpid()); err != nil || low.Peak > high.Peak-128<<20 {
		t.Errorf("peak after the reset %+v, before %+v: not reset", low, high)
	}
}

func TestSizes(t *testing.T) {
	for in, want := range map[string]int64{"1GiB": GiB, "256MiB": 256 * MiB, "1.5 GiB": 3 * GiB / 2, "64KiB": 64 * KiB, "1048576": MiB, "10B": 10} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "GiB", "-1MiB", "1TB"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
	for n, want := range map[int64]string{GiB: "1 GiB", 256 * MiB: "256 MiB", 3 * GiB / 2: "1.5 GiB", 1000: "1000 B", 159*MiB + 727*KiB: "159.71 MiB"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestConfigFlags(t *testing.T) {
	parse := func(args ...string) Config {
		t.Helper()
		c := DefaultConfig()
		fs := flag.NewFlagSet("bench", flag.ContinueOnError)
		c.RegisterFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		if err := c.ApplyShort(fs); err != nil {
			t.Fatal(err)
		}
		return c
	}
	d := parse()
	if d.Size != GiB || d.Layers != 4 || d.Runs < 3 || d.Warmup < 1 || d.Short {
		t.Errorf("defaults %+v: want 1 GiB in 4 layers, several runs after a warm-up", d)
	}
	s := parse("-short")
	if s.Size != 256*MiB || s.Runs != 1 {
		t.Errorf("-short: %+v", s)
	}
	s = parse("-short", "-size", "512MiB", "-pull-concurrency", "2,4")
	if s.Size != 512*MiB || s.Layers != 2 || len(s.PullConcurrency) != 2 || s.PullConcurrency[1] != 4 {
		t.Errorf("-short keeps explicit flags: %+v", s)
	}
	if got := parse("-size", "1GiB", "-layers", "3").LayerSize(); got%512 != 0 || got > GiB/3 || got < GiB/3-512 {
		t.Errorf("layer size %d: want a multiple of 512 just under a third of 1 GiB", got)
	}
	if err := parse("-layers", "0", "-runs", "0").Validate(); err == nil || !strings.Contains(err.Error(), "-layers") || !strings.Contains(err.Error(), "-runs") {
		t.Errorf("Validate: %v; want every problem", err)
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
}

func sample(mibps float64, cpu float64, peak int64) Sample {
	return Sample{Bytes: GiB, Seconds: GiB / MiB / mibps, CPU: cpu, Memory: Memory{RSS: 30 * MiB, Peak: peak}}
}

// results has every figure on the right side of its target except the
// push ratio at 8 clients and the memory at 8 clients.
func results() *Results {
	return &Results{
		Config: DefaultConfig(), Machine: Machine{CPU: "Test CPU", Cores: 2, Memory: 8 * GiB, OS: "TestOS", Go: "go1.x"},
		Started: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), Duration: time.Minute,
		ImageBytes: GiB, ChunkSize: 32 * MiB,
		Pull: map[int]*PullResult{
			1: {Direct: Runs{sample(1000, 0, 0)}, Ranged: Runs{sample(950, 0.01, 0)}, Redirect: Runs{sample(600, 0.01, 0)}, Stream: Runs{sample(500, 1, 0)}},
		},
		Push: map[int]*PushResult{
			1: {Direct: Runs{sample(500, 0, 0)}, Registry: Runs{sample(400, 5, 200*MiB)}, Uploads: 4},
			8: {Direct: Runs{sample(500, 0, 0)}, Registry: Runs{sample(200, 7, 7*GiB)}, Uploads: 32},
		},
		Notify: map[string]*NotifyResult{
			"synapse": {PerPush: []int{1, 1}, PerPull: []int{0, 0}, Commits: []int{1, 1}},
			"all":     {PerPush: []int{6, 6}, PerPull: []int{6, 6}, PushEvents: map[string]int{"push blob": 5, "push manifest": 1}, PullEvents: map[string]int{"pull blob": 5, "pull manifest": 1}},
		},
	}
}

func TestRowsAndTargets(t *testing.T) {
	r := results()
	verdicts := map[string]Verdict{}
	for _, row := range r.Rows() {
		verdicts[row.Figure] = row.Verdict
	}
	want := map[string]Verdict{
		"Pull, 1 client: through the registry, redirects on (deployed), the same ranges of the redirect": Met,
		"Pull, 1 client: through the registry, redirects on (deployed), one GET per layer":               Info,
		"Registry CPU per GiB pulled, 1 client: redirects on vs off":                                     Met,
		"Push, 1 client: through the registry":                                                           Met,
		"Push, 8 clients at once: through the registry":                                                  NotMet,
		"Registry peak memory, 1 client (4 layer uploads in flight)":                                     Met,
		"Registry peak memory, 8 clients at once (32 layer uploads in flight)":                           NotMet,
		"Requests Synapse receives per image push":                                                       Met,
		"Requests Synapse receives per image pull":                                                       Met,
		"Pull, 1 client: straight from S3 (16 MiB ranges, 5 at once per blob)":                           Info,
		"Push, 8 clients at once: straight to S3 (multipart, 32 MiB parts, 5 at once per blob)":          Info,
		"Pull, 1 client: through the registry, redirects off":                                            Info,
		"CPU per GiB pushed, 1 client, every process (clients, registry, S3 stand-in)":                   Met,
		"CPU per GiB pushed, 8 clients at once, every process (clients, registry, S3 stand-in)":          NotMet,
	}
	for fig, v := range want {
		got, ok := verdicts[fig]
		if !ok {
			t.Errorf("no row %q", fig)
		} else if got != v {
			t.Errorf("%q: %v, want %v", fig, got, v)
		}
	}

	// Each target flips when its figure crosses it.
	r.Pull[1].Ranged = Runs{sample(880, 0.01, 0)} // 88 % of direct
	r.Pull[1].Stream = Runs{sample(500, 0.1, 0)}  // on/off CPU 10 %
	r.Notify["synapse"].PerPush = []int{1, 2}     // one run sent two
	r.Notify["synapse"].PerPull = []int{0, 1}
	r.Push[1].Registry = Runs{sample(400, 5, 200*MiB)}
	r.Push[1].Registry[0].Memory.RSS = 100 * MiB // bound 4 × (6 × 32 MiB + 8 MiB) + 100 MiB = 900 MiB
	r.Push[1].Registry[0].Memory.Peak = 901 * MiB
	for _, row := range r.Rows() {
		switch row.Figure {
		case "Pull, 1 client: through the registry, redirects on (deployed), the same ranges of the redirect", "Registry CPU per GiB pulled, 1 client: redirects on vs off",
			"Requests Synapse receives per image push", "Requests Synapse receives per image pull",
			"Registry peak memory, 1 client (4 layer uploads in flight)":
			if row.Verdict != NotMet {
				t.Errorf("%q is %v past its target: %s", row.Figure, row.Verdict, row.Measured)
			}
		}
	}
}

func TestMemoryBound(t *testing.T) {
	// 32 uploads, each up to six 32 MiB chunks and 8 MiB, on a 30 MiB idle process.
	if got, want := MemoryBound(32, 32*MiB, 30*MiB), float64(6430*MiB); got != want {
		t.Errorf("MemoryBound = %v, want %v", got, want)
	}
}

// The bound is the s3-concurrent driver's: a buffer being filled and up to
// partsinflight uploading (image/s3concurrent checks the number in flight).
func TestBuffersPerUploadIsTheDriversBound(t *testing.T) {
	if BuffersPerUpload != registryconfig.S3PartsInFlight+1 {
		t.Errorf("BuffersPerUpload %d; the driver holds up to partsinflight (%d) + 1", BuffersPerUpload, registryconfig.S3PartsInFlight)
	}
}

func TestSummary(t *testing.T) {
	s := results().Summary()
	for _, want := range []string{
		"Measured 2026-01-02 03:04 UTC in 1m0s with `make bench BENCH_FLAGS='-size 1GiB -layers 4 -runs 3 -warmup 1",
		"Machine: Test CPU, 2 logical CPUs, 8 GiB of memory, TestOS, go1.x.",
		"| Figure | Measured (median) | Target | Result |\n|---|---|---|---|\n",
		"| Pull, 1 client: through the registry, redirects on (deployed), the same ranges of the redirect | 950 MiB/s = 95 % of S3 | ≥ 90 % of S3 | met |",
		"| Pull, 1 client: through the registry, redirects on (deployed), one GET per layer | 600 MiB/s = 60 % of S3 |  |  |",
		"| Push, 8 clients at once: through the registry | 200 MiB/s = 40 % of S3 | ≥ 70 % of S3 | **not met** |",
		"| Registry peak memory, 8 clients at once (32 layer uploads in flight) | 7 GiB (idle: 30 MiB) | ≤ 32 × (6 × 32 MiB + 8 MiB) + idle = 6.28 GiB | **not met** |",
		"| Registry CPU per GiB pulled, 1 client: redirects on vs off | 0.010 s vs 1.00 s = 1 % | ≤ 5 % | met |",
		"| Requests Synapse receives per image push | 1 through the relay and SQS (every event sent straight to Synapse: 6 = 5 push blob + 1 push manifest); 1 recorded by Synapse | 1 | met |",
		"| Requests Synapse receives per image pull | 0 through the relay and SQS (every event sent straight to Synapse: 6 = 5 pull blob + 1 pull manifest) | 0 | met |",
		"Targets met: 7 of 10. Not met: Push, 8 clients at once: through the registry; CPU per GiB pushed, 8 clients at once, every process (clients, registry, S3 stand-in); Registry peak memory, 8 clients at once (32 layer uploads in flight).",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	// One table: every row has four cells.
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "|") && strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") != 5 {
			t.Errorf("table row without four cells: %q", line)
		}
	}
}

func TestUpdateSection(t *testing.T) {
	cost := "## Cost\n\nThe cost section, someone else's.\n\n### Sub\n\ntext\n"
	doc := "# Performance and cost\n\nIntro.\n\n" + cost

	// No section yet: a new one, before ## Cost, which stays as it is.
	out := UpdateSection(doc, "TABLE 1")
	if !strings.HasSuffix(out, cost) || !strings.Contains(out, "Intro.\n\n## Benchmark\n") ||
		strings.Index(out, "## Benchmark") > strings.Index(out, "## Cost") || !strings.Contains(out, BeginMarker+"\n\nTABLE 1\n\n"+EndMarker) {
		t.Fatalf("new section:\n%s", out)
	}

	// Prose written by hand in the section survives; only the marked block changes.
	out = strings.Replace(out, "## Benchmark\n", "## Benchmark\n\nHand-written explanation.\n", 1)
	out2 := UpdateSection(out, "TABLE 2\n")
	if strings.Contains(out2, "TABLE 1") || !strings.Contains(out2, "TABLE 2") || !strings.Contains(out2, "Hand-written explanation.") ||
		!strings.HasSuffix(out2, cost) || strings.Count(out2, "## Benchmark") != 1 || strings.Count(out2, BeginMarker) != 1 {
		t.Fatalf("update:\n%s", out2)
	}
	if UpdateSection(out2, "TABLE 2\n") != out2 {
		t.Error("updating with the same block changed the document")
	}

	// A section without markers gets them at its end, before the next section.
	doc = "# P\n\n## Benchmark\n\nOld words.\n\n## Cost\n\nc\n"
	out = UpdateSection(doc, "T")
	if !strings.Contains(out, "Old words.\n\n"+BeginMarker) || !strings.HasSuffix(out, EndMarker+"\n\n## Cost\n\nc\n") {
		t.Errorf("section without markers:\n%s", out)
	}

	// No ## Cost: the section goes at the end.
	if out := UpdateSection("# P\n\ntext\n", "T"); !strings.HasPrefix(out, "# P\n\ntext\n\n## Benchmark\n") {
		t.Errorf("without ## Cost:\n%s", out)
	}
}

func TestWriteSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "performance.md")
	os.WriteFile(path, []byte("# Performance and cost\n\n## Cost\n\nc\n"), 0o644)
	if err := WriteSection(path, "T1"); err != nil {
		t.Fatal(err)
	}
	// Someone edits the cost section meanwhile: the next write keeps it.
	b, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(b), "\nc\n", "\nc, edited\n", 1)), 0o644)
	if err := WriteSection(path, "T2"); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(path)
	if s := string(b); !strings.Contains(s, "T2") || strings.Contains(s, "T1") || !strings.HasSuffix(s, "## Cost\n\nc, edited\n") {
		t.Errorf("written:\n%s", s)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestMachineParsers(t *testing.T) {
	if got := cpuModel("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n"); got != "AMD EPYC 7B13" {
		t.Errorf("cpuModel = %q", got)
	}
	if got := memTotal("MemTotal:       24680000 kB\nMemFree: 1 kB\n"); got != 24680000<<10 {
		t.Errorf("memTotal = %d", got)
	}
	if got := osRelease("NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"); got != "Debian GNU/Linux 12 (bookworm)" {
		t.Errorf("osRelease = %q", got)
	}
}

func TestInTurn(t *testing.T) {
	var got []string
	for i := range 4 {
		inTurn(i, func() { got = append(got, "a") }, func() { got = append(got, "b") }, func() { got = append(got, "c") })
	}
	if s := strings.Join(got, ""); s != "abcbcacababc" {
		t.Errorf("order %q: want each variant first in turn", s)
	}
}

func TestRegistryEnv(t *testing.T) {
	c := DefaultConfig()
	c.RegistryEnv = []string{"GOMEMLIMIT=1536MiB", "GOGC=50"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if env := c.registryEnv(); env["GOMEMLIMIT"] != "1536MiB" || env["GOGC"] != "50" || len(env) != 2 {
		t.Errorf("registryEnv = %v", env)
	}
	if !strings.Contains(c.Args(), "-registry-env GOMEMLIMIT=1536MiB -registry-env GOGC=50") {
		t.Errorf("Args() = %q does not record the environment", c.Args())
	}
	for _, bad := range []string{"SYNAPSE_REGISTRY_REDIRECT=false", "REGISTRY_STORAGE=inmemory", "NOVALUE", "=x"} {
		c.RegistryEnv = []string{bad}
		if err := c.Validate(); err == nil {
			t.Errorf("-registry-env %s accepted", bad)
		}
	}
}

// The single-layer push and the verified large push get their rows and
// targets: 70 % of the direct upload, the one-upload memory bound, the digest.
func TestSingleLayerAndVerifiedPushRows(t *testing.T) {
	r := results()
	r.Single = &PushResult{Direct: Runs{sample(100, 0, 0)}, Registry: Runs{sample(69, 1, 100*MiB)}, Uploads: 1, S3: S3Ops{"UploadPart": 128, "HeadObject": 9}}
	r.Verify = &VerifyResult{Size: 10 * GiB, Seconds: 100}
	verdicts := map[string]Verdict{}
	measured := map[string]string{}
	for _, row := range r.Rows() {
		verdicts[row.Figure] = row.Verdict
		measured[row.Figure] = row.Measured
	}
	if got := measured["S3 requests of one push of the 4 GiB layer alone through the registry (config and layer)"]; got != "137: UploadPart 128, HeadObject 9" {
		t.Errorf("S3 requests row: %q", got)
	}
	for fig, want := range map[string]Verdict{
		"Push, one 4 GiB layer alone: through the registry":                        NotMet, // 69 %
		"Registry peak memory, one 4 GiB layer alone (1 upload)":                   Met,    // ≤ 6 × 32 MiB + 8 MiB + 30 MiB
		"Push, one 10 GiB layer through the registry, verified by digest in S3":    Met,
		"Push, one 4 GiB layer alone: straight to S3 (multipart, 5 parts at once)": Info,
	} {
		if got, ok := verdicts[fig]; !ok || got != want {
			t.Errorf("%q: %v (present %v), want %v", fig, got, ok, want)
		}
	}
	r.Single.Registry = Runs{sample(70, 1, 231*MiB)}
	r.Verify.Err = fmt.Errorf("S3 stores it with another digest")
	for _, row := range r.Rows() {
		switch row.Figure {
		case "Push, one 4 GiB layer alone: through the registry":
			if row.Verdict != Met {
				t.Errorf("70 %% is %v", row.Verdict)
			}
		case "Registry peak memory, one 4 GiB layer alone (1 upload)", "Push, one 10 GiB layer through the registry, verified by digest in S3":
			if row.Verdict != NotMet {
				t.Errorf("%q is %v past its target: %s", row.Figure, row.Verdict, row.Measured)
			}
		}
	}
}

// Every registry the benchmark measures sends its notifications the deployed
// way: to the relay, which queues them in the SQS stand-in and delivers them
// to Synapse, so the counts are what Synapse receives through the relay.
// (The baseline of every event sent, startBaselineRegistry, posts straight to
// Synapse on purpose: the relay would filter it.)
func TestRegistriesNotifyThroughTheRelay(t *testing.T) {
	b := &bench{
		sy:    &registrytest.Synapse{Realm: "https://localhost:1/token", NotificationURL: "http://localhost:2/events", Tokens: &synapsestub.TokenService{}, Key: &synapsestub.SigningKey{}},
		queue: &registrytest.Queue{Server: &sqstest.Server{URL: "http://localhost:3"}, URL: "http://localhost:3/q", DeadLetterURL: "http://localhost:3/q-dlq"},
	}
	for _, opts := range []registrytest.Options{{}, {DisableRedirect: true}} {
		env := map[string]string{}
		for _, kv := range b.registryOptions(opts).Environ(1, 2, t.TempDir()) {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		if env[registryconfig.EnvNotificationQueue] != b.queue.URL || env[registryconfig.EnvNotificationDLQ] != b.queue.DeadLetterURL ||
			env[registryconfig.EnvSQSEndpoint] != b.queue.Server.URL || env[registryconfig.EnvRelayAddr] == "" {
			t.Errorf("registry %+v does not notify through the relay and the SQS stand-in: queue %q, DLQ %q, SQS %q, relay %q", opts,
				env[registryconfig.EnvNotificationQueue], env[registryconfig.EnvNotificationDLQ], env[registryconfig.EnvSQSEndpoint], env[registryconfig.EnvRelayAddr])
		}
	}
}

// Every push the benchmark times is a new image's: the registry skips moving
// a layer that another client committed first and writing a manifest whose
// data it has, so clients pushing the same layers at once, or a run pushing
// the blobs of the run before, would measure less work than a new image's.
func TestEveryPushIsOfANewImage(t *testing.T) {
	b := &bench{t: &registrytest.Command{Log: io.Discard}, cfg: Config{Size: 2 * 8 * KiB, Layers: 2}, log: io.Discard}
	b.makeImage()
	seen := map[string]string{}
	saw := func(what string, d v1.Hash) {
		if prev, ok := seen[d.String()]; ok {
			t.Errorf("%s is %s again (%s)", what, prev, d)
		}
		seen[d.String()] = what
	}
	layersOf := map[int][]v1.Hash{}
	for run := range 2 {
		for j, im := range b.pushImages(3, fmt.Sprintf("r%d", run)) {
			saw(fmt.Sprintf("run %d client %d's manifest", run, j), im.manifestDigest)
			saw(fmt.Sprintf("run %d client %d's config", run, j), im.blobs[0])
			if run == 0 {
				for k, d := range im.blobs[1:] {
					saw(fmt.Sprintf("client %d's layer %d", j, k), d)
				}
				layersOf[j] = im.blobs[1:]
			} else if !slices.Equal(im.blobs[1:], layersOf[j]) {
				t.Errorf("client %d pushes other layers in run %d: %v, then %v", j, run, layersOf[j], im.blobs[1:])
			}
			if size, _ := im.layers[1].Size(); len(im.layers) != 2 || size != b.cfg.LayerSize() {
				t.Errorf("client %d's image is not of the benchmark's layers: %d layers of %d bytes", j, len(im.layers), size)
			}
		}
	}
	if !slices.Equal(layersOf[0], b.image.blobs[1:]) {
		t.Errorf("client 0 pushes %v, not the pulled image's layers %v", layersOf[0], b.image.blobs[1:])
	}
}

// Probe measures what S3 does: against the stand-in under a model it reports
// the model's latency and rate, on one connection, leaves nothing behind, and
// prints flags that give the benchmark that model.
func TestProbeMeasuresTheS3Model(t *testing.T) {
	model := registrytest.S3Model{Latency: 250 * time.Millisecond, ConnRate: 16e6}
	st := registrytest.StartS3With(t, registrytest.S3Options{TLS: true, Model: model})
	sess, err := session.NewSession(aws.NewConfig().WithRegion("us-east-1").WithEndpoint(st.URL).WithS3ForcePathStyle(true).
		WithCredentials(credentials.NewStaticCredentials("probe", "probe", "")).WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	// Set after the session, which would otherwise trust only AWS_CA_BUNDLE.
	sess.Config.HTTPClient = OneConnection(registrytest.Transport(st.Certificate))
	cfg := ProbeConfig{S3: s3.New(sess), Bucket: st.Bucket, Prefix: "s3-probe", Requests: 3, Size: 4 * MiB}
	res, err := Probe(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The stand-in waits the latency before serving each request, so no
	// request is faster; the slack is this machine's, under other tests.
	for _, op := range []string{"PutObject", "GetObject", "HeadObject", "ListObjectsV2", "DeleteObject"} {
		l := res.Latency[op]
		if len(l) != cfg.Requests || l[0] < model.Latency || l[len(l)/2] > model.Latency+500*time.Millisecond {
			t.Errorf("%s took %v, want %d requests of %v and a little more", op, l, cfg.Requests, model.Latency)
		}
	}
	// Without the latency taken out, 4 MiB at 16 MB/s (0.26 s) plus 0.25 s
	// would read as half the rate.
	for dir, r := range map[string]float64{"upload": res.Upload, "download": res.Download} {
		if r < 0.6*model.ConnRate || r > 1.1*model.ConnRate {
			t.Errorf("%s: %.3g bytes/s, want the model's %.3g", dir, r, model.ConnRate)
		}
	}
	if n := st.Connections(); n != 1 {
		t.Errorf("the probe opened %d connections, want 1: the model caps each", n)
	}
	if keys := st.Keys(t); len(keys) > 0 {
		t.Errorf("the probe left %v", keys)
	}
	var buf strings.Builder
	WriteProbe(&buf, "the stand-in", cfg, res)
	if !strings.Contains(buf.String(), res.BenchFlags()) {
		t.Errorf("the report does not give the flags %q:\n%s", res.BenchFlags(), buf.String())
	}
	c := DefaultConfig()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse(strings.Fields(res.BenchFlags())); err != nil {
		t.Fatalf("the benchmark refuses the probe's flags %q: %v", res.BenchFlags(), err)
	}
	if c.S3Latency != res.Small.Round(time.Millisecond) || math.Abs(c.S3ConnRate-res.ConnRate()) > 0.005*res.ConnRate() {
		t.Errorf("flags %q set latency %v and rate %g, want %v and %g", res.BenchFlags(), c.S3Latency, c.S3ConnRate, res.Small, res.ConnRate())
	}

	cfg.Prefix = "docker/registry/v2"
	if _, err := Probe(cfg); err == nil || !strings.Contains(err.Error(), "docker/") {
		t.Errorf("a prefix under the registry's data: %v", err)
	}
}
