package s3concurrent

import (
	"sync"
	"time"
)

// partBuffers hands out the writers' part buffers and keeps the returned
// ones for the next part. A sync.Pool would not do: it drops its contents at
// every other garbage collection, so a long upload would allocate a fresh
// chunk-sized buffer after each collection and leave the old one as garbage,
// which the collector lets grow up to the live heap (GOGC=100) before it
// runs again. The registry's memory would then exceed what the parts in
// flight hold (docs/performance.md, "Memory per upload"). Buffers returned
// and not taken again within idle are released, so an idle task gives its
// memory back.
type partBuffers struct {
	size int
	idle time.Duration

	mu        sync.Mutex
	free      []*[]byte
	allocated int         // buffers made so far
	timer     *time.Timer // releases the free buffers once idle passes without a get
}

// defaultBufferIdle: the registry reads a part's bytes in seconds at any
// client rate worth keeping a buffer for.
const defaultBufferIdle = 30 * time.Second

func newPartBuffers(size int, idle time.Duration) *partBuffers {
	return &partBuffers{size: size, idle: idle}
}

func (p *partBuffers) get() *[]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.touch()
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		return b
	}
	p.allocated++
	b := make([]byte, p.size)
	return &b
}

// put returns b for the next part; a buffer of another size (a small
// blob's, see smallBlobBuffer) is left to the garbage collector.
func (p *partBuffers) put(b *[]byte) {
	if len(*b) != p.size {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free = append(p.free, b)
	p.touch()
}

// touch restarts the idle timer; the caller holds mu.
func (p *partBuffers) touch() {
	if p.timer == nil {
		p.timer = time.AfterFunc(p.idle, p.release)
		return
	}
	p.timer.Reset(p.idle)
}

func (p *partBuffers) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.free)
	p.free = p.free[:0]
}

// held is how many buffers wait in the free list.
func (p *partBuffers) held() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free)
}
