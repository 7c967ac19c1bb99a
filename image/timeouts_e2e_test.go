package image_test

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registrymain"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/registrytest"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synapsestub"
)

// Five connections that complete TLS but never finish their request headers
// (slow loris) are closed by the registry after registrymain.ReadHeaderTimeout,
// while a push on the same instance works.
func TestSlowHeadersAreCut(t *testing.T) {
	t.Parallel()
	sy := registrytest.StartSynapse(t)
	reg := registrytest.StartRegistry(t, registrytest.Options{Synapse: sy})
	limit := registrymain.ReadHeaderTimeout + 10*time.Second
	type result struct {
		err     error
		elapsed time.Duration
	}
	results := make(chan result, 5)
	for range 5 {
		go func() {
			start := time.Now()
			conn, err := tls.Dial("tcp", reg.Host, &tls.Config{ServerName: "localhost", RootCAs: reg.Transport().TLSClientConfig.RootCAs})
			if err != nil {
				results <- result{err: err}
				return
			}
			defer conn.Close()
			if _, err := conn.Write([]byte("GET /v2/ HTTP/1.1\r\nHost: " + reg.Host + "\r\nX-Slow: ")); err != nil {
				results <- result{err: err}
				return
			}
			_ = conn.SetReadDeadline(start.Add(limit))
			_, err = conn.Read(make([]byte, 1))
			results <- result{err: err, elapsed: time.Since(start)}
		}()
	}
	// Meanwhile the registry serves a normal push.
	if err := push(t, reg.Host+"/"+repo+":during-slow-loris", randomImage(t, 4096, 2), synapsestub.DevUser, reg.Transport()); err != nil {
		t.Fatalf("push while slow connections are open: %v", err)
	}
	for range 5 {
		r := <-results
		var ne net.Error
		switch {
		case errors.As(r.err, &ne) && ne.Timeout() || errors.Is(r.err, os.ErrDeadlineExceeded):
			t.Errorf("a connection that never finished its headers was still open after %v", limit)
		case r.err == nil:
			t.Errorf("the registry answered a request whose headers never ended")
		case r.elapsed < registrymain.ReadHeaderTimeout-time.Second:
			t.Errorf("slow connection closed after %v, before the %v header timeout (%v)", r.elapsed, registrymain.ReadHeaderTimeout, r.err)
		default:
			t.Logf("slow connection closed after %v: %v", r.elapsed.Round(time.Millisecond), r.err)
		}
	}
}
