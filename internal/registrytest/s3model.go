package registrytest

import (
	"net"
	"sync"
	"time"
)

// S3Model is how the S3 stand-in behaves like S3 on a network rather than an
// in-memory store on loopback: each connection moves at most ConnRate bytes
// per second in each direction, and each request waits Latency before it is
// served (the round trip to S3 and S3's time to first byte). The zero value
// is loopback: no cap, no wait. docs/performance.md gives the defaults the
// benchmark uses and their sources.
type S3Model struct {
	// ConnRate is bytes per second per TCP connection and direction; 0 is
	// no cap. AWS's S3 performance guidance: one connection carries about
	// 85–90 MB/s, more needs parallel connections.
	ConnRate float64
	// Latency is added before every request is served.
	Latency time.Duration
}

// pacedListener paces every accepted connection to model.ConnRate. It wraps
// the TCP listener, under TLS, so the cap counts the bytes on the wire.
type pacedListener struct {
	net.Listener
	rate float64
}

func (l pacedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil || l.rate <= 0 {
		return c, err
	}
	return &pacedConn{Conn: c, read: pacer{rate: l.rate}, write: pacer{rate: l.rate}}, nil
}

// pacedConn caps reads and writes separately: an upload and a download on
// one connection each get the full rate, as on a full-duplex link.
type pacedConn struct {
	net.Conn
	read, write pacer
}

func (c *pacedConn) Read(p []byte) (int, error) {
	// Read at most what 10 ms carry, so that one large read does not run
	// ahead of the cap and then stall (TCP's window would smooth it).
	p = p[:min(len(p), c.read.quantum())]
	n, err := c.Conn.Read(p)
	c.read.wait(n)
	return n, err
}

func (c *pacedConn) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		k := min(len(p), c.write.quantum())
		n, err := c.Conn.Write(p[:k])
		written += n
		c.write.wait(n)
		if err != nil {
			return written, err
		}
		p = p[k:]
	}
	return written, nil
}

// pacer keeps a byte stream at rate bytes per second: each transfer moves the
// stream's due time on by its size over the rate, and the caller sleeps until
// it is due. An idle stream gets no credit beyond burst.
type pacer struct {
	mu   sync.Mutex
	rate float64
	due  time.Time
}

const pacerBurst = 20 * time.Millisecond

func (p *pacer) quantum() int { return max(4096, int(p.rate/100)) }

func (p *pacer) wait(n int) {
	if n <= 0 {
		return
	}
	p.mu.Lock()
	now := time.Now()
	if p.due.Before(now.Add(-pacerBurst)) {
		p.due = now.Add(-pacerBurst)
	}
	p.due = p.due.Add(time.Duration(float64(n) / p.rate * float64(time.Second)))
	sleep := p.due.Sub(now)
	p.mu.Unlock()
	if sleep > 0 {
		time.Sleep(sleep)
	}
}
