package s3concurrent

import (
	"bytes"
	"context"
	"runtime"
	"testing"
	"time"
)

// A long upload takes and returns part buffers for hours; a sync.Pool
// empties itself every other garbage collection, so each collection would
// cost a fresh chunk-sized buffer and leave the old one as garbage.
func TestPartBuffersSurviveGarbageCollections(t *testing.T) {
	p := newPartBuffers(1<<20, time.Hour)
	b := p.get()
	p.put(b)
	runtime.GC()
	runtime.GC()
	if got := p.get(); got != b {
		t.Fatal("the returned buffer did not survive two garbage collections: every part after a collection allocates afresh")
	}
	if p.allocated != 1 {
		t.Fatalf("%d buffers allocated for one in use at a time, want 1", p.allocated)
	}
}

func TestIdlePartBuffersAreReleased(t *testing.T) {
	p := newPartBuffers(1<<20, 20*time.Millisecond)
	a, b := p.get(), p.get()
	p.put(a)
	p.put(b)
	if p.held() != 2 {
		t.Fatalf("%d buffers held after two were returned, want 2", p.held())
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.held() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if p.held() != 0 {
		t.Fatalf("%d idle buffers still held: an idle task never gives its memory back", p.held())
	}
}

// An image config or a small layer holds a small buffer, not a part buffer;
// a blob that outgrows it keeps its first bytes in the part buffer it moves to.
func TestSmallBlobsHoldNoPartBuffer(t *testing.T) {
	const chunk = 8 << 20
	d := &driver{chunkSize: chunk, partsInFlight: 2, buffers: newPartBuffers(chunk, time.Hour)}
	w := &writer{d: d, ctx: context.Background(), next: 1, slots: make(chan struct{}, 2)}
	first := bytes.Repeat([]byte("config"), 100)
	if _, err := w.Write(first); err != nil {
		t.Fatal(err)
	}
	if d.buffers.allocated != 0 || len(*w.buf) != smallBlobBuffer {
		t.Fatalf("a %d-byte blob took %d part buffers (buffer of %d bytes), want none (%d bytes)", len(first), d.buffers.allocated, len(*w.buf), smallBlobBuffer)
	}
	more := bytes.Repeat([]byte{7}, 2*smallBlobBuffer)
	if _, err := w.Write(more); err != nil {
		t.Fatal(err)
	}
	if d.buffers.allocated != 1 || len(*w.buf) != chunk {
		t.Fatalf("after %d bytes: %d part buffers, buffer of %d bytes; want 1 of %d", w.size, d.buffers.allocated, len(*w.buf), chunk)
	}
	want := append(append([]byte{}, first...), more...)
	if !bytes.Equal((*w.buf)[:w.fill], want) {
		t.Fatal("the bytes written before the move to a part buffer were not kept")
	}
}
