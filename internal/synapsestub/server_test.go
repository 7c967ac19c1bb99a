package synapsestub

import (
	"bytes"
	"log"
	"testing"
)

// The servers' error log drops only abandoned TLS handshakes.
func TestErrorLogDropsAbandonedHandshakes(t *testing.T) {
	var out bytes.Buffer
	l := log.New(abandonedHandshakeFilter{&out}, "", 0)
	l.Print("http: TLS handshake error from 127.0.0.1:33696: EOF")
	l.Print("http: TLS handshake error from 127.0.0.1:57504: read tcp 127.0.0.1:34895->127.0.0.1:57504: read: connection reset by peer")
	l.Print("http: TLS handshake error from 127.0.0.1:33697: remote error: tls: bad certificate")
	l.Print("http: panic serving 127.0.0.1:1: boom")
	want := "http: TLS handshake error from 127.0.0.1:33697: remote error: tls: bad certificate\nhttp: panic serving 127.0.0.1:1: boom\n"
	if out.String() != want {
		t.Errorf("logged %q, want %q", out.String(), want)
	}
}
