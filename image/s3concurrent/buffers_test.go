package s3concurrent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
)

func mustGet(t *testing.T, p *partBuffers) *[]byte {
	t.Helper()
	b, err := p.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A long upload takes and returns part buffers for hours; a sync.Pool
// empties itself every other garbage collection, so each collection would
// cost a fresh chunk-sized buffer and leave the old one as garbage.
func TestPartBuffersSurviveGarbageCollections(t *testing.T) {
	p := newPartBuffers(1<<20, time.Hour, 0)
	b := mustGet(t, p)
	p.put(b)
	runtime.GC()
	runtime.GC()
	if got := mustGet(t, p); got != b {
		t.Fatal("the returned buffer did not survive two garbage collections: every part after a collection allocates afresh")
	}
	if p.made != 1 {
		t.Fatalf("%d buffers made for one in use at a time, want 1", p.made)
	}
}

// The writers' traffic starts a garbage collection every collectEvery bytes
// of buffers taken, one at a time: part buffers are live heap, so Go's pacer
// alone would let other garbage grow to their size before it collects.
func TestTakingBuffersStartsCollections(t *testing.T) {
	p := newPartBuffers(1<<20, time.Hour, 0)
	p.collectEvery = 4 << 20
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	p.collect = func() {
		started <- struct{}{}
		<-release
	}
	take := func(n int) {
		for range n {
			p.put(mustGet(t, p))
		}
	}
	take(3)
	if len(started) != 0 {
		t.Fatalf("a collection started after 3 MiB of buffers taken; want one every 4 MiB")
	}
	take(1)
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("no collection started after 4 MiB of buffers taken: garbage piles up to the part buffers' size")
	}
	take(12) // while the first is still running
	if len(started) != 0 {
		t.Fatalf("%d collections started while one was running; want none", len(started))
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		p.mu.Lock()
		collecting := p.collecting
		p.mu.Unlock()
		if !collecting || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	take(4)
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("no collection started after the first ended and 4 MiB more were taken")
	}
}

func TestIdlePartBuffersAreReleased(t *testing.T) {
	p := newPartBuffers(1<<20, 20*time.Millisecond, 0)
	a, b := mustGet(t, p), mustGet(t, p)
	p.put(a)
	p.put(b)
	if free, _ := p.counts(); free != 2 {
		t.Fatalf("%d buffers held after two were returned, want 2", free)
	}
	deadline := time.Now().Add(5 * time.Second)
	for free, _ := p.counts(); free > 0 && time.Now().Before(deadline); free, _ = p.counts() {
		time.Sleep(10 * time.Millisecond)
	}
	if free, allocated := p.counts(); free != 0 || allocated != 0 {
		t.Fatalf("%d idle buffers still held (%d counted against the budget): an idle task never gives its memory back", free, allocated)
	}
}

// With the budget spent, a writer waits for a buffer instead of allocating
// one; the next buffer returned goes to it, and a writer whose request ends
// while it waits gives up without taking one.
func TestPartBuffersStayWithinTheBudget(t *testing.T) {
	p := newPartBuffers(1<<20, time.Hour, 2)
	a, b := mustGet(t, p), mustGet(t, p)
	got := make(chan *[]byte)
	go func() {
		c, err := p.get(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	select {
	case <-got:
		t.Fatal("a third buffer was handed out with a budget of two: a burst of uploads can exceed the task's memory")
	case <-time.After(100 * time.Millisecond):
	}
	p.put(a)
	select {
	case c := <-got:
		if c != a {
			t.Error("the waiting writer did not get the buffer returned")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting writer never got the buffer returned")
	}
	if _, allocated := p.counts(); allocated != 2 || p.made != 2 {
		t.Fatalf("%d buffers allocated, %d made; want 2 and 2", allocated, p.made)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.get(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("get with the budget spent and the request ended: %v, want the context's error", err)
	}
	p.put(b)
	if free, _ := p.counts(); free != 1 {
		t.Fatalf("the buffer returned after a waiter gave up is not free (%d free): it would be lost to the budget", free)
	}
}

// Released buffers are collected and their memory handed back at once, not
// whenever the next allocation triggers a collection: an idle task does no
// allocating.
func TestReleasedBuffersAreCollected(t *testing.T) {
	const size = 64 << 20
	runtime.GC()
	live := func() uint64 {
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	p := newPartBuffers(size, 20*time.Millisecond, 0)
	a, b := mustGet(t, p), mustGet(t, p)
	p.put(a)
	p.put(b)
	a, b = nil, nil
	runtime.GC() // the buffers are live in the free list now
	held := live()
	if held < 2*size {
		t.Fatalf("live heap %d MiB with two %d MiB buffers free", held>>20, size>>20)
	}
	deadline := time.Now().Add(5 * time.Second)
	for live() > held-size && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := live(); got > held-size {
		t.Fatalf("live heap still %d MiB after the idle buffers were released: their memory stays with the idle task", got>>20)
	}
}

// The budget follows the Go runtime's memory limit, which the entrypoint
// sets from the task's memory: none without a limit, never less than one
// upload's buffers.
func TestBufferBudgetFollowsTheMemoryLimit(t *testing.T) {
	const chunk, perUpload = 32 << 20, 6
	for _, c := range []struct {
		limit int64
		want  int
	}{
		{math.MaxInt64, 0},
		{3686 << 20, 86}, // prod: 90 % of 4 GiB; 75 % of it in 32 MiB buffers
		{1843 << 20, 43}, // dev: 90 % of 2 GiB
		{64 << 20, perUpload},
	} {
		if got := bufferBudget(c.limit, chunk, perUpload); got != c.want {
			t.Errorf("budget for a %d MiB limit: %d buffers, want %d", c.limit>>20, got, c.want)
		}
	}
}

// An image config or a small layer holds a small buffer, not a part buffer;
// a blob that outgrows it keeps its first bytes in the part buffer it moves to.
func TestSmallBlobsHoldNoPartBuffer(t *testing.T) {
	const chunk = 8 << 20
	d := &driver{chunkSize: chunk, partsInFlight: 2, buffers: newPartBuffers(chunk, time.Hour, 0)}
	w := &writer{d: d, ctx: context.Background(), next: 1, slots: make(chan struct{}, 2)}
	first := bytes.Repeat([]byte("config"), 100)
	if _, err := w.Write(first); err != nil {
		t.Fatal(err)
	}
	if d.buffers.made != 0 || len(*w.buf) != smallBlobBuffer {
		t.Fatalf("a %d-byte blob took %d part buffers (buffer of %d bytes), want none (%d bytes)", len(first), d.buffers.made, len(*w.buf), smallBlobBuffer)
	}
	more := bytes.Repeat([]byte{7}, 2*smallBlobBuffer)
	if _, err := w.Write(more); err != nil {
		t.Fatal(err)
	}
	if d.buffers.made != 1 || len(*w.buf) != chunk {
		t.Fatalf("after %d bytes: %d part buffers, buffer of %d bytes; want 1 of %d", w.size, d.buffers.made, len(*w.buf), chunk)
	}
	want := append(append([]byte{}, first...), more...)
	if !bytes.Equal((*w.buf)[:w.fill], want) {
		t.Fatal("the bytes written before the move to a part buffer were not kept")
	}
}

// image/README.md states the budget of prod's and dev's tasks; it follows the
// code and the stack files' task memory.
func TestReadmeStatesTheBudget(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	budget := func(stack string) int {
		b, err := os.ReadFile("../../Pulumi." + stack + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?m)^\s*synapse-docker-registry:memory:\s*"?(\d+)`).FindSubmatch(b)
		if m == nil {
			t.Fatalf("Pulumi.%s.yaml sets no memory", stack)
		}
		mib, _ := strconv.ParseInt(string(m[1]), 10, 64)
		limit := (mib << 20) / 100 * registryconfig.GoMemLimitPercent
		return bufferBudget(limit, registryconfig.S3ChunkSize, registryconfig.S3PartsInFlight+1)
	}
	prod, dev := budget("prod"), budget("dev")
	perUpload := registryconfig.S3PartsInFlight + 1
	want := fmt.Sprintf("%d buffers\n  of 32 MiB in prod's 4 GiB task, %d in dev's 2 GiB, i.e. %d and %d uploads at full speed", prod, dev, prod/perUpload, dev/perUpload)
	if !strings.Contains(string(readme), want) {
		t.Errorf("image/README.md does not state the part-buffer budget as the code computes it: want %q", want)
	}
	if !strings.Contains(string(readme), fmt.Sprintf("at most %.0f %% of it in part buffers", partBufferShare*100)) {
		t.Errorf("image/README.md does not state the budget's share of GOMEMLIMIT, %.0f %%", partBufferShare*100)
	}
}
