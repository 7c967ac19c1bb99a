package synapsestub

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
)

// Server is a running stand-in HTTP(S) server.
type Server struct {
	// URL is the base URL, with host name localhost (never an IP literal:
	// registry clients refuse token realms on loopback IP literals).
	URL string
	// Certificate is the self-signed TLS certificate of an HTTPS server.
	Certificate *x509.Certificate
	listener    net.Listener
	srv         *http.Server
}

// ErrorLog is the stand-in servers' error log: what net/http reports, on
// stderr, except TLS handshakes the client abandoned (EOF or connection
// reset). A client that closes its idle connections while another is still
// being dialled causes those, and they mean nothing.
var ErrorLog = log.New(abandonedHandshakeFilter{os.Stderr}, "", log.LstdFlags)

type abandonedHandshakeFilter struct{ w io.Writer }

func (f abandonedHandshakeFilter) Write(p []byte) (int, error) {
	line := bytes.TrimSpace(p)
	if bytes.Contains(line, []byte("TLS handshake error")) &&
		(bytes.HasSuffix(line, []byte(": EOF")) || bytes.HasSuffix(line, []byte(": connection reset by peer"))) {
		return len(p), nil
	}
	return f.w.Write(p)
}

// Serve serves h over plain HTTP on addr ("localhost:0" picks a port).
func Serve(addr string, h http.Handler) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{listener: ln, srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: ErrorLog}}
	s.URL = fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// ServeTLS serves h over HTTPS on addr with a fresh self-signed certificate
// for localhost and the loopback addresses.
func ServeTLS(addr string, h http.Handler) (*Server, error) {
	certPEM, keyPEM, cert, err := registryconfig.GenerateTLS([]string{"localhost", "127.0.0.1", "::1"}, time.Now())
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{
		Certificate: cert,
		listener:    ln,
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          ErrorLog,
			TLSConfig:         &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
		},
	}
	s.URL = fmt.Sprintf("https://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	go func() { _ = s.srv.ServeTLS(ln, "", "") }()
	return s, nil
}

// Addr is the listening address.
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

// Close stops the server.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return s.srv.Close()
}
