package s3concurrent

import (
	"context"
	"math"
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// partBuffers hands out the writers' part buffers, keeps the returned ones
// for the next part, and holds the process to a budget of them.
//
// A sync.Pool would not do: it drops its contents at every other garbage
// collection, so a long upload would allocate a fresh chunk-sized buffer
// after each collection and leave the old one as garbage, which the
// collector lets grow up to the live heap (GOGC=100) before it runs again.
// Buffers returned and not taken again within idle are released, so an idle
// task gives its memory back.
//
// The budget (limit buffers; 0: none) is what keeps a burst of pushes from
// killing the task for memory: each upload may hold PartsInFlight + 1
// buffers, and nothing bounds how many uploads the load balancer sends one
// task before autoscaling adds others (minutes). When the budget is spent, a
// writer that needs a buffer waits for one to come back from a part that
// completes, so its client's stream slows down instead (TCP flow control).
// Waiting holds no buffer, and every buffer in use belongs to a part in
// flight (bounded by the S3 client's timeouts) or to a part being filled
// from a client, so the wait ends.
type partBuffers struct {
	size  int
	idle  time.Duration
	limit int

	// collectEvery and collect: see collectEvery; tests change them.
	collectEvery int
	collect      func()

	mu         sync.Mutex
	free       []*[]byte
	allocated  int            // buffers made and not released: in use or free
	made       int            // buffers made in all, for the tests
	waiters    []chan *[]byte // writers waiting for a buffer, first come first served
	timer      *time.Timer    // releases the free buffers once idle passes without a get
	taken      int            // bytes of buffers taken since the last collection started
	collecting bool
}

// collectEvery is how many bytes of part buffers the writers take between
// the garbage collections the driver starts. Go's collector starts a cycle
// once the heap has grown by GOGC (100) % of what the last cycle found live,
// and part buffers are live: with one upload's six buffers (192 MiB) held,
// the garbage the rest of the registry makes while bytes stream through it
// (HTTP, TLS, the AWS SDK: a few MiB per GiB pushed) piled up until the
// runtime's two-minute periodic collection, 13 to 19 MiB over a 4 GiB layer:
// more than the memory an upload is allowed besides its buffers
// (docs/performance.md, "Memory per upload"). Every 256 MiB keeps it near a
// MiB. A cycle over a heap of pointer-free buffers marks only the rest:
// milliseconds of CPU, against the seconds of hashing and TLS 256 MiB cost.
const collectEvery = 256 << 20

// defaultBufferIdle: the registry reads a part's bytes in seconds at any
// client rate worth keeping a buffer for.
const defaultBufferIdle = 30 * time.Second

// partBufferShare is the share of the Go runtime's memory limit (GOMEMLIMIT,
// which the entrypoint sets to 90 % of the task's memory) part buffers may
// take; the rest is the process itself, each upload's connections and small
// buffers (docs/performance.md, "Memory per upload"), and the collector's
// room to work.
const partBufferShare = 0.75

// bufferBudget is how many buffers of size fit in partBufferShare of the
// memory limit (bytes; math.MaxInt64: none), never fewer than one upload's
// perUpload; 0 means no budget.
func bufferBudget(memoryLimit int64, size, perUpload int) int {
	if memoryLimit <= 0 || memoryLimit == math.MaxInt64 {
		return 0
	}
	return max(int(float64(memoryLimit)*partBufferShare)/size, perUpload)
}

// runtimeMemoryLimit is the Go runtime's memory limit (GOMEMLIMIT), or
// math.MaxInt64 when none is set.
func runtimeMemoryLimit() int64 { return debug.SetMemoryLimit(-1) }

func newPartBuffers(size int, idle time.Duration, limit int) *partBuffers {
	return &partBuffers{size: size, idle: idle, limit: limit, collectEvery: collectEvery, collect: runtime.GC}
}

// get returns a buffer: a free one, a new one within the budget, or the next
// one returned; it fails only if ctx ends first.
func (p *partBuffers) get(ctx context.Context) (*[]byte, error) {
	p.mu.Lock()
	p.touch()
	p.countTaken()
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return b, nil
	}
	if p.limit == 0 || p.allocated < p.limit {
		p.allocated++
		p.made++
		p.mu.Unlock()
		b := make([]byte, p.size)
		return &b, nil
	}
	wait := make(chan *[]byte, 1)
	p.waiters = append(p.waiters, wait)
	p.mu.Unlock()
	select {
	case b := <-wait:
		return b, nil
	case <-ctx.Done():
		p.mu.Lock()
		for i, w := range p.waiters {
			if w == wait {
				p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
				break
			}
		}
		p.mu.Unlock()
		select {
		case b := <-wait: // handed over as ctx ended: pass it on
			p.put(b)
		default:
		}
		return nil, ctx.Err()
	}
}

// put returns b for the next part, to a waiting writer first; a buffer of
// another size (a small blob's, see smallBlobBuffer) is left to the garbage
// collector.
func (p *partBuffers) put(b *[]byte) {
	if len(*b) != p.size {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.waiters) > 0 {
		w := p.waiters[0]
		p.waiters = p.waiters[1:]
		w <- b
		return
	}
	p.free = append(p.free, b)
	p.touch()
}

// countTaken counts a buffer taken and starts a collection in the background
// once collectEvery bytes were, unless one is still running; the caller holds
// mu.
func (p *partBuffers) countTaken() {
	p.taken += p.size
	if p.taken < p.collectEvery || p.collecting {
		return
	}
	p.taken, p.collecting = 0, true
	go func() {
		p.collect()
		p.mu.Lock()
		p.collecting = false
		p.mu.Unlock()
	}()
}

// touch restarts the idle timer; the caller holds mu.
func (p *partBuffers) touch() {
	if p.timer == nil {
		p.timer = time.AfterFunc(p.idle, p.release)
		return
	}
	p.timer.Reset(p.idle)
}

// release drops the free buffers and hands their memory back to the
// operating system at once. Dropped buffers are only garbage: in a process
// that has gone idle no allocation triggers a collection, so the task would
// keep reporting them as used (the memory scaling policy would never scale
// in), and the next burst would allocate new buffers next to the old ones
// (the benchmark saw 1.3 GiB where 24 buffers need 0.8). A forced collection
// after 30 s without a part costs milliseconds on a heap that small.
func (p *partBuffers) release() {
	p.mu.Lock()
	n := len(p.free)
	p.allocated -= n
	clear(p.free)
	p.free = p.free[:0]
	p.mu.Unlock()
	if n > 0 {
		debug.FreeOSMemory()
	}
}

// counts are the buffers free and allocated (in use or free), for the tests.
func (p *partBuffers) counts() (free, allocated int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free), p.allocated
}
