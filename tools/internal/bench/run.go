// Package bench measures the deployed registry configuration on this machine:
// pulls and pushes through the real registry (the image's entrypoint and
// registry, as internal/registrytest runs them) against the same transfers
// straight to the S3 stand-in, the registry's CPU and peak memory, and the
// notifications Synapse receives. tools/cmd/bench prints the result as one table
// and can write it into docs/performance.md.
package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/s3"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/registrytest"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synapsestub"
)

// Results are one benchmark's measurements.
type Results struct {
	Config   Config
	Machine  Machine
	Started  time.Time
	Duration time.Duration
	// ImageBytes is the size of the image's layers (what throughputs count);
	// ChunkSize the registry's S3 part size.
	ImageBytes int64
	ChunkSize  int64
	Pull       map[int]*PullResult // by number of concurrent pullers
	Push       map[int]*PushResult // by number of concurrent pushers
	// Single is one client pushing one SingleLayer-sized layer; Verify the
	// one VerifyLayer-sized push checked by digest (nil when skipped).
	Single *PushResult
	Verify *VerifyResult
	// Notify holds the notification counts of the deployed path, the
	// filter and the relay ("synapse"), and of every event sent straight to
	// Synapse ("all", the baseline).
	Notify map[string]*NotifyResult
}

// PullResult are the pull runs at one concurrency.
type PullResult struct {
	Direct Runs // the blobs fetched straight from S3
	// Ranged: through the registry, redirects on (deployed), the client
	// fetching ranges of the redirect's URL as Direct does of S3's (the
	// pull target); Redirect: the same with one GET per layer, as
	// go-containerregistry fetches.
	Ranged   Runs
	Redirect Runs
	Stream   Runs // through the registry, redirects off
}

// PushResult are the push runs at one concurrency.
type PushResult struct {
	Direct   Runs // the same bytes uploaded straight to S3, multipart
	Registry Runs // through one registry process per level, as a task serves push after push
	// Uploads is how many layer uploads run at once: pushers × layers in
	// flight per push (at most Jobs).
	Uploads int
	// S3 counts the S3 requests of the last push through the registry, by
	// operation (the single-layer push only).
	S3 S3Ops
}

// NotifyResult counts the notification requests (POSTs) Synapse receives.
type NotifyResult struct {
	PerPush, PerPull []int
	// PushEvents and PullEvents break the last run's requests down by
	// action and target ("push manifest": 1, "push blob": 5, ...).
	PushEvents, PullEvents map[string]int
	// Commits is how many pushes Synapse recorded per run (after its rules).
	Commits []int
}

// Run runs the benchmark, writing progress to log.
func Run(cfg Config, log io.Writer) (*Results, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cmd := &registrytest.Command{Log: log}
	defer cmd.Close()
	var res *Results
	err := cmd.Run(func() {
		b := &bench{t: cmd, cfg: cfg, log: log}
		res = b.run()
	})
	return res, err
}

type bench struct {
	t   *registrytest.Command
	cfg Config
	log io.Writer

	sy    *registrytest.Synapse
	queue *registrytest.Queue // the notification queue the relay delivers from, as in the task
	hosts []string            // of the registries started, which Synapse's listener accepts
	s3    *registrytest.S3
	s3api *s3.S3
	// image is the image pulled, and the one client 0 pushes (with a
	// config of each run's); pushLayers[j] are the layers client j pushes,
	// pushLayers[0] the image's: pushers that push the same layers at once
	// would let the registry skip moving a layer another one has committed.
	image      *benchImage
	pushLayers [][]*registrytest.RandomLayer
	bytes      int64 // layer bytes of one image

	barriers int
}

const (
	pullRepo    = "syn1/bench-pull"
	barrierRepo = "syn1/bench-barrier"
)

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "bench: "+format+"\n", args...)
}

func (b *bench) check(err error, what string) {
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *bench) run() *Results {
	res := &Results{
		Config: b.cfg, Machine: ReadMachine(), Started: time.Now(), ChunkSize: registryconfig.S3ChunkSize,
		Pull: map[int]*PullResult{}, Push: map[int]*PushResult{}, Notify: map[string]*NotifyResult{},
	}
	b.limitMemory(res.Machine.Memory)
	b.makeImage()
	res.ImageBytes = b.bytes

	b.sy = registrytest.StartSynapse(b.t)
	// As the deployed task: the registry notifies the relay, which queues in
	// SQS (the stand-in) and delivers to Synapse from there.
	b.queue = registrytest.StartQueue(b.t, 5)
	b.s3 = registrytest.StartS3With(b.t, registrytest.S3Options{TLS: b.cfg.S3TLS, Model: b.cfg.S3Model()})
	b.s3api = b.s3Client()
	redirect := b.startRegistry(registrytest.Options{})
	stream := b.startRegistry(registrytest.Options{DisableRedirect: true})
	b.check(b.pushRegistry(redirect, pullRepo, b.image), "pushing the image to pull")

	for _, c := range b.cfg.PullConcurrency {
		res.Pull[c] = b.pullPhase(c, redirect, stream)
	}
	for _, c := range b.cfg.PushConcurrency {
		res.Push[c] = b.pushPhase(c)
	}
	if b.cfg.SingleLayer > 0 {
		res.Single = b.singlePhase()
	}
	if b.cfg.VerifyLayer > 0 {
		b.deleteKeys(b.image.blobKeys()) // memory for the push, if no push phase deleted them
		res.Verify = b.verifyPhase()
	}
	all := b.startBaselineRegistry()
	res.Notify["synapse"] = b.notifyPhase("synapse", "through the relay", redirect)
	res.Notify["all"] = b.notifyPhase("all", "straight to Synapse", all)
	res.Duration = time.Since(res.Started)
	if m, err := ReadMemory(os.Getpid()); err == nil {
		b.logf("this process (clients and stand-ins) peaked at %s resident", FormatSize(m.Peak))
	}
	return res
}

// startRegistry starts a registry with the deployed configuration as
// modified by opts, on the stand-ins.
func (b *bench) startRegistry(opts registrytest.Options) *registrytest.Registry {
	reg := registrytest.StartRegistry(b.t, b.registryOptions(opts))
	b.hosts = append(b.hosts, reg.Host)
	b.sy.Notifications.SetHosts(b.hosts...)
	return reg
}

// startBaselineRegistry starts the comparison the notification rows give:
// every event sent straight to Synapse, without the deployed filter and
// without the relay (which would drop all but manifest pushes itself).
func (b *bench) startBaselineRegistry() *registrytest.Registry {
	opts := b.registryOptions(registrytest.Options{NotifyAll: true})
	opts.Queue = nil
	reg := registrytest.StartRegistry(b.t, opts)
	b.hosts = append(b.hosts, reg.Host)
	b.sy.Notifications.SetHosts(b.hosts...)
	return reg
}

// registryOptions are opts with the stand-ins and the deployed notification
// path: through the relay and the SQS queue, so what Synapse receives is what
// the relay delivers.
func (b *bench) registryOptions(opts registrytest.Options) registrytest.Options {
	opts.Synapse, opts.S3, opts.Queue, opts.Env = b.sy, b.s3, b.queue, b.cfg.registryEnv()
	return opts
}

// limitMemory keeps this process's heap (the S3 stand-in holds every
// upload) from doubling before the garbage collector runs, and refuses
// sizes the machine cannot hold.
func (b *bench) limitMemory(total int64) {
	if total <= 0 {
		return
	}
	// At the peak the S3 stand-in holds every pusher's image and the direct
	// uploads' part buffers, plus a tenth for garbage (see SetGCPercent), and
	// the registry holds a few GiB: 13.5 GiB at the defaults, measured.
	pushers := slices.Max(b.cfg.PushConcurrency)
	need := max(int64(pushers)*b.cfg.Size*14/10, b.cfg.VerifyLayer*12/10, b.cfg.SingleLayer*2) + 3*GiB
	advice := fmt.Sprintf("-size %s with %d concurrent pushers needs about %s of memory; this machine has %s",
		FormatSize(b.cfg.Size), pushers, FormatSize(need), FormatSize(total))
	switch {
	case need > total:
		b.t.Fatalf("%s: lower -size or -push-concurrency", advice)
	case need > total*85/100:
		b.logf("warning: %s: close the memory-hungry programs or lower -size", advice)
	}
	debug.SetMemoryLimit(total * 8 / 10)
	// The heap is almost all upload bytes, which the collector does not scan:
	// collecting often is cheap, and keeps garbage from growing the heap.
	debug.SetGCPercent(10)
}

// makeImage builds the image: Layers random layers (seeds 1 to Layers).
func (b *bench) makeImage() {
	size := b.cfg.LayerSize()
	layers, err := makeLayers(b.cfg.Layers, size, 1)
	b.check(err, "making the layers")
	b.image, err = newBenchImage(layers, "")
	b.check(err, "making the image")
	b.pushLayers = [][]*registrytest.RandomLayer{layers}
	b.bytes = size * int64(b.cfg.Layers)
	b.logf("image: %d layers of %s (%s), config %s", b.cfg.Layers, FormatSize(size), FormatSize(b.bytes), b.image.blobs[0])
}

// pushImages are what c clients push in run: client j the layers of
// pushLayers[j] (made on first use, seeds j<<32 + 1 on), every client with a
// config of the run's, so that every run pushes blobs and manifests the
// registry has not seen (newBenchImage).
func (b *bench) pushImages(c int, run string) []*benchImage {
	for j := len(b.pushLayers); j < c; j++ {
		layers, err := makeLayers(b.cfg.Layers, b.cfg.LayerSize(), uint64(j)<<32+1)
		b.check(err, fmt.Sprintf("making client %d's layers", j))
		b.pushLayers = append(b.pushLayers, layers)
	}
	ims := make([]*benchImage, c)
	for j := range ims {
		var err error
		ims[j], err = newBenchImage(b.pushLayers[j], fmt.Sprintf("%s-client%d", run, j))
		b.check(err, "making a pushed image")
	}
	return ims
}

// timedBytes measures f, which moves n bytes, as timed does one client.
func (b *bench) timedBytes(n int64, reg *registrytest.Registry, f func() error) Sample {
	saved := b.bytes
	b.bytes = n
	defer func() { b.bytes = saved }()
	return b.timed(1, reg, func(int) error { return f() })
}

// timed runs f(0..c-1) at once and measures the wall time and, if reg is
// set, the registry's CPU time.
func (b *bench) timed(c int, reg *registrytest.Registry, f func(i int) error) Sample {
	var cpu0 float64
	var err error
	if reg != nil {
		cpu0, err = TreeCPU(reg.PID())
		b.check(err, "registry CPU")
	}
	// Start every run from a collected heap: the garbage of the previous
	// run (gigabytes of deleted uploads) neither weighs on this one nor adds
	// to this process's peak memory.
	runtime.GC()
	self := os.Getpid()
	local0, err := ProcessCPU(self)
	b.check(err, "own CPU")
	errs := make([]error, c)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	r := Sample{Bytes: int64(c) * b.bytes, Seconds: time.Since(start).Seconds()}
	local1, err := ProcessCPU(self)
	b.check(err, "own CPU")
	r.LocalCPU = local1 - local0
	for _, err := range errs {
		b.check(err, "transfer")
	}
	if reg != nil {
		cpu1, err := TreeCPU(reg.PID())
		b.check(err, "registry CPU")
		r.CPU = cpu1 - cpu0
	}
	return r
}

func (b *bench) runLabel(i int) string {
	if i < b.cfg.Warmup {
		return fmt.Sprintf("warm-up %d/%d", i+1, b.cfg.Warmup)
	}
	return fmt.Sprintf("run %d/%d", i-b.cfg.Warmup+1, b.cfg.Runs)
}

func mibps(r Sample) string { return fmt.Sprintf("%.0f MiB/s", r.Throughput()/MiB) }

// pullPhase: c clients pull the image straight from S3, through the
// registry with redirects, and through the registry streaming the blobs,
// interleaved run by run so that drift affects all three alike.
func (b *bench) pullPhase(c int, redirect, stream *registrytest.Registry) *PullResult {
	pr := &PullResult{}
	for i := range b.cfg.Warmup + b.cfg.Runs {
		var d, ranged, on, off Sample
		inTurn(i,
			func() { d = b.timed(c, nil, func(int) error { return b.pullDirect() }) },
			func() {
				ranged = b.timed(c, redirect, func(int) error { return b.pullRegistryRanged(redirect, pullRepo) })
			},
			func() { on = b.timed(c, redirect, func(int) error { return b.pullRegistry(redirect, pullRepo) }) },
			func() { off = b.timed(c, stream, func(int) error { return b.pullRegistry(stream, pullRepo) }) })
		b.logf("pull, %d at once, %s: direct %s, registry (redirects, ranges) %s (CPU %.2f s), registry (redirects, one GET a layer) %s (CPU %.2f s), registry (streaming) %s (CPU %.2f s)",
			c, b.runLabel(i), mibps(d), mibps(ranged), ranged.CPU, mibps(on), on.CPU, mibps(off), off.CPU)
		if i >= b.cfg.Warmup {
			pr.Direct = append(pr.Direct, d)
			pr.Ranged = append(pr.Ranged, ranged)
			pr.Redirect = append(pr.Redirect, on)
			pr.Stream = append(pr.Stream, off)
		}
	}
	return pr
}

// pushPhase: c clients upload an image each straight to S3 (multipart), then push them through
// the registry. One registry process serves every run of a level, as a deployed task serves push
// after push (its buffer pool warm after the warm-up run); its peak resident memory is reset
// before each run, and the bound is taken from its memory at rest (idleMemory). Each client
// pushes layers of its own with a config of the run's (pushImages), and after each run the blobs
// are deleted from S3, so the registry moves every upload into place and writes every manifest as
// it does for a new image (it skips the move for a blob that exists, and the manifest's data if
// it has it).
func (b *bench) pushPhase(c int) *PushResult {
	// The config blob is uploaded alongside, but is a few hundred bytes.
	pr := &PushResult{Uploads: c * min(b.cfg.Jobs, b.cfg.Layers)}
	b.deleteKeys(b.image.blobKeys()) // the pulled image's: memory for the pushes
	reg := b.startRegistry(registrytest.Options{})
	defer reg.Kill()
	started := b.idleMemory(reg)
	for i := range b.cfg.Warmup + b.cfg.Runs {
		var d, r Sample
		var before, after Memory
		ims := b.pushImages(c, fmt.Sprintf("c%d-r%d", c, i))
		direct := func() {
			var mu sync.Mutex
			var keys []string
			d = b.timed(c, nil, func(j int) error {
				k, err := b.pushDirect(fmt.Sprintf("bench/direct/c%d-r%d-%d", c, i, j), ims[j])
				mu.Lock()
				keys = append(keys, k...)
				mu.Unlock()
				return err
			})
			b.deleteKeys(keys)
		}
		registry := func() {
			b.check(ResetPeakMemory(reg.PID()), "registry memory")
			var err error
			before, err = ReadMemory(reg.PID())
			b.check(err, "registry memory")
			r = b.timed(c, reg, func(j int) error {
				return b.pushRegistry(reg, fmt.Sprintf("syn1/bench-push-c%d-r%d-%d", c, i, j), ims[j])
			})
			after, err = ReadMemory(reg.PID())
			b.check(err, "registry memory")
			r.Memory = Memory{RSS: started.RSS, Peak: after.Peak}
			for _, im := range ims {
				b.deleteKeys(im.blobKeys())
			}
		}
		inTurn(i, direct, registry)
		b.logf("push, %d at once, %s: direct %s, registry %s (CPU %.2f s, RSS %s at start, %s before, peak %s)",
			c, b.runLabel(i), mibps(d), mibps(r), r.CPU, FormatSize(started.RSS), FormatSize(before.RSS), FormatSize(after.Peak))
		if i >= b.cfg.Warmup {
			pr.Direct = append(pr.Direct, d)
			pr.Registry = append(pr.Registry, r)
		}
	}
	return pr
}

// idleMemory is reg's memory at rest, the base of the memory bound: after it
// has served one push of a small image (its first requests set up the S3
// client, TLS sessions and caches, megabytes a task holds whether or not it
// is uploading) and holding no upload.
func (b *bench) idleMemory(reg *registrytest.Registry) Memory {
	img, err := random.Image(1024, 1)
	b.check(err, "idle image")
	tr := clientTransport(reg.Transport())
	defer tr.CloseIdleConnections()
	b.check(writeImage(reg.Host+"/syn1/bench-idle:v1", img, tr, b.cfg.Jobs), "idle push")
	m, err := ReadMemory(reg.PID())
	b.check(err, "registry memory")
	return m
}

// inTurn calls fs, starting with the i-th (modulo their number): each
// variant goes first in some runs, so that what a run leaves behind (garbage
// to collect, memory to return) does not always weigh on the same one.
func inTurn(i int, fs ...func()) {
	for k := range fs {
		fs[(i+k)%len(fs)]()
	}
}

// notifyPhase counts what Synapse receives for one push and one pull of the
// image through reg, each followed by a barrier push whose notification
// proves every earlier one has been delivered (a registry sends them in
// order).
func (b *bench) notifyPhase(label, path string, reg *registrytest.Registry) *NotifyResult {
	nr := &NotifyResult{}
	// The counts depend on the image's blobs, not their sizes: an image of
	// as many small layers is counted in seconds, not minutes.
	img, err := random.Image(1024, int64(b.cfg.Layers))
	b.check(err, "notification image")
	for i := range b.cfg.Runs {
		repo := fmt.Sprintf("syn1/bench-notify-%s-%d", label, i)
		tr := clientTransport(reg.Transport())
		b.check(writeImage(reg.Host+"/"+repo+":v1", img, tr, b.cfg.Jobs), "notification push")
		tr.CloseIdleConnections()
		b.barrier(reg)
		pushes := b.deliveriesFor(repo)
		b.check(b.pullRegistry(reg, repo), "notification pull")
		b.barrier(reg)
		pulls := b.deliveriesFor(repo)[len(pushes):]
		nr.PerPush = append(nr.PerPush, len(pushes))
		nr.PerPull = append(nr.PerPull, len(pulls))
		nr.PushEvents, nr.PullEvents = eventKinds(pushes), eventKinds(pulls)
		commits := b.commitsFor(repo)
		nr.Commits = append(nr.Commits, commits)
		b.logf("notifications (%s, %s), run %d/%d: %d per push %v, %d per pull %v; %d push recorded", label, path, i+1, b.cfg.Runs,
			len(pushes), nr.PushEvents, len(pulls), nr.PullEvents, commits)
	}
	return nr
}

func (b *bench) deliveriesFor(repo string) []synapsestub.Delivery {
	var out []synapsestub.Delivery
	for _, d := range b.sy.Notifications.Deliveries() {
		if slices.ContainsFunc(d.Events, func(e synapsestub.Event) bool { return e.Target.Repository == repo }) {
			out = append(out, d)
		}
	}
	return out
}

// commitsFor counts the pushes of repo Synapse recorded.
func (b *bench) commitsFor(repo string) int {
	n := 0
	for _, c := range b.sy.Notifications.Commits() {
		if c.Repository == repo {
			n++
		}
	}
	return n
}

// eventKinds counts deliveries by action and target kind.
func eventKinds(ds []synapsestub.Delivery) map[string]int {
	out := map[string]int{}
	for _, d := range ds {
		for _, e := range d.Events {
			kind := "blob"
			if strings.Contains(e.Target.MediaType, "manifest") || strings.Contains(e.Target.MediaType, "index") {
				kind = "manifest"
			}
			out[e.Action+" "+kind]++
		}
	}
	return out
}

// barrier pushes a small new image through reg and waits for its manifest
// push to reach Synapse.
func (b *bench) barrier(reg *registrytest.Registry) {
	b.barriers++
	img, err := random.Image(1024, 1)
	b.check(err, "barrier image")
	d, err := img.Digest()
	b.check(err, "barrier digest")
	tr := clientTransport(reg.Transport())
	defer tr.CloseIdleConnections()
	b.check(writeImage(reg.Host+"/"+barrierRepo+fmt.Sprintf(":b%d", b.barriers), img, tr, b.cfg.Jobs), "barrier push")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err = b.sy.Notifications.WaitFor(ctx, func(events []synapsestub.Event) bool {
		return slices.ContainsFunc(events, func(e synapsestub.Event) bool {
			return e.Action == "push" && e.Target.Repository == barrierRepo && e.Target.Digest == d.String()
		})
	})
	b.check(err, "waiting for the barrier's notification")
}

// s3Client is the AWS SDK (v1, as the registry's S3 driver) for the direct
// uploads.
func (b *bench) s3Client() *s3.S3 {
	cfg := aws.NewConfig().WithRegion("us-east-1").WithEndpoint(b.s3.URL).WithS3ForcePathStyle(true).
		WithCredentials(credentials.NewStaticCredentials("bench", "bench", "")).WithMaxRetries(0)
	sess, err := session.NewSession(cfg)
	b.check(err, "AWS session")
	// Set after the session, which would otherwise trust only AWS_CA_BUNDLE.
	sess.Config.HTTPClient = &http.Client{Transport: clientTransport(registrytest.Transport(b.s3.Certificate))}
	return s3.New(sess)
}

// blobKey is where the registry keeps a blob's data in the bucket.
func blobKey(d v1.Hash) string {
	return fmt.Sprintf("docker/registry/v2/blobs/%s/%s/%s/data", d.Algorithm, d.Hex[:2], d.Hex)
}

func (b *bench) deleteKeys(keys []string) {
	for _, k := range keys {
		_, err := b.s3api.DeleteObject(&s3.DeleteObjectInput{Bucket: aws.String(b.s3.Bucket), Key: aws.String(k)})
		b.check(err, "deleting "+k)
	}
}
