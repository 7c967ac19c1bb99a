package registrytest

import (
	"crypto/x509"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synapsestub"
)

// RoundRobin is an HTTPS reverse proxy that sends each request to the next
// registry instance in turn, like a load balancer without stickiness: uploads
// hop between instances.
type RoundRobin struct {
	// Host is "localhost:<port>"; URL is "https://" + Host.
	Host, URL string
	Server    *synapsestub.Server

	backends []*Registry
	next     atomic.Uint64
	mu       sync.Mutex
	log      []ProxiedRequest
}

// ProxiedRequest records which instance served a request.
type ProxiedRequest struct {
	Backend int
	Method  string
	Path    string
	Status  int
}

// record logs a request sent to a backend (r is the outgoing request).
func (p *RoundRobin) record(r *http.Request, status int) {
	backend := -1
	for i, b := range p.backends {
		if u, err := url.Parse(b.URL); err == nil && u.Host == r.URL.Host {
			backend = i
		}
	}
	p.mu.Lock()
	p.log = append(p.log, ProxiedRequest{Backend: backend, Method: r.Method, Path: r.URL.Path, Status: status})
	p.mu.Unlock()
}

// StartRoundRobin starts the proxy; it stops when the test ends.
func StartRoundRobin(t TB, backends ...*Registry) *RoundRobin {
	t.Helper()
	p := &RoundRobin{backends: backends}
	var certs = make([]*x509.Certificate, 0, len(backends))
	for _, b := range backends {
		certs = append(certs, b.Certificate)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			i := int((p.next.Add(1) - 1) % uint64(len(p.backends)))
			u, _ := url.Parse(p.backends[i].URL)
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host // the registry builds Location URLs from it
			pr.SetXForwarded()
		},
		ModifyResponse: func(resp *http.Response) error {
			p.record(resp.Request, resp.StatusCode)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			p.record(r, http.StatusBadGateway)
			http.Error(w, "proxy: "+err.Error(), http.StatusBadGateway)
		},
		Transport:     Transport(certs...),
		FlushInterval: -1,
	}
	srv, err := synapsestub.ServeTLS("127.0.0.1:0", rp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	p.Server = srv
	u, _ := url.Parse(srv.URL)
	p.Host, p.URL = u.Host, srv.URL
	return p
}

// Requests returns the requests proxied so far.
func (p *RoundRobin) Requests() []ProxiedRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.log)
}

// Transport trusts the proxy, the instances behind it and the stand-in Synapse.
func (p *RoundRobin) Transport(s *Synapse) *http.Transport {
	certs := []*x509.Certificate{p.Server.Certificate}
	for _, b := range p.backends {
		certs = append(certs, b.Certificate)
	}
	return s.Transport(certs...)
}
