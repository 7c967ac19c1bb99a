package registrytest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/johannesboyne/gofakes3"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synapsestub"
)

// S3 is an in-process S3-compatible server with one bucket: gofakes3 for the
// protocol, in front of a memory store whose objects, multipart parts and
// copies share their bytes (see store), plus UploadPartCopy, which gofakes3
// lacks and the registry uses to move uploads above the multipart-copy
// threshold (128 MiB) into place.
type S3 struct {
	// URL is the endpoint, "http://localhost:<port>" (or https with TLS).
	URL    string
	Bucket string
	// Certificate is the server's self-signed certificate when it serves
	// HTTPS, and CertificateFile the same in PEM; nil and "" otherwise.
	Certificate     *x509.Certificate
	CertificateFile string

	store   *store
	latency time.Duration
	faker   http.Handler
	server  *http.Server
	failing atomic.Bool
	hanging atomic.Pointer[chan struct{}] // closed when the hang ends
	// connections counts the connections accepted, to see clients reuse
	// them.
	connections atomic.Int64
	mu          sync.Mutex
	requests    []S3Request
}

// S3Request is one request the fake S3 received.
type S3Request struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	// Status is 503 for requests refused while failing, else 0 (served).
	Status int
	// Start is when the request arrived; Took, how long it took to serve
	// (the model's latency included), 0 until it was.
	Start time.Time
	Took  time.Duration
	// AccessKey is the access key ID that signed the request (its
	// Authorization header, or a pre-signed URL's X-Amz-Credential): every
	// registry signs with its own (Registry.S3AccessKey).
	AccessKey string
}

// S3Options configure the S3 stand-in.
type S3Options struct {
	// Bucket defaults to Bucket.
	Bucket string
	// TLS serves HTTPS, HTTP/1.1 only like S3, with a self-signed certificate
	// for localhost. Registries started with this S3 trust it (SSL_CERT_FILE),
	// and their Transport does too.
	TLS bool
	// Model caps each connection's throughput and delays each request, as
	// S3 behaves over a network (S3Model); the zero value is loopback.
	Model S3Model
}

// StartS3 starts a plain-HTTP server with the given bucket (Bucket if
// empty); it stops when the test ends.
func StartS3(t TB, bucket string) *S3 {
	t.Helper()
	return StartS3With(t, S3Options{Bucket: bucket})
}

// StartS3With starts a server as opts say; it stops when the test ends.
func StartS3With(t TB, opts S3Options) *S3 {
	t.Helper()
	if opts.Bucket == "" {
		opts.Bucket = Bucket
	}
	st := newStore()
	if err := st.CreateBucket(opts.Bucket); err != nil {
		t.Fatal(err)
	}
	s := &S3{
		Bucket:  opts.Bucket,
		store:   st,
		latency: opts.Model.Latency,
		// Content-MD5 is not verified: S3 does that on its own CPU, the
		// stand-in would do it on the benchmark's.
		faker: gofakes3.New(st, gofakes3.WithIntegrityCheck(false)).Server(),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln = pacedListener{Listener: ln, rate: opts.Model.ConnRate}
	scheme := "http"
	if opts.TLS {
		certPEM, keyPEM, cert, err := registryconfig.GenerateTLS([]string{"localhost", "127.0.0.1", "::1"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		s.Certificate = cert
		s.CertificateFile = filepath.Join(t.TempDir(), "s3.crt")
		if err := os.WriteFile(s.CertificateFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644); err != nil {
			t.Fatal(err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}})
		scheme = "https"
	}
	s.server = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          synapsestub.ErrorLog,
		ConnState: func(_ net.Conn, state http.ConnState) {
			if state == http.StateNew {
				s.connections.Add(1)
			}
		},
		// No HTTP/2: S3 speaks HTTP/1.1.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	go func() { _ = s.server.Serve(ln) }()
	t.Cleanup(func() { s.server.Close() })
	// localhost, not 127.0.0.1: registry clients refuse redirects to loopback
	// IP literals (an SSRF guard), and pulls are redirected here.
	s.URL = fmt.Sprintf("%s://localhost:%d", scheme, ln.Addr().(*net.TCPAddr).Port)
	return s
}

// ServeHTTP logs the request, refuses it while failing, serves UploadPartCopy
// and hands everything else to gofakes3.
func (s *S3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := S3Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Start: time.Now(), AccessKey: accessKeyOf(r)}
	if s.failing.Load() {
		rec.Status = http.StatusServiceUnavailable
	}
	s.mu.Lock()
	index := len(s.requests)
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.requests[index].Took = time.Since(rec.Start)
		s.mu.Unlock()
	}()
	if rec.Status != 0 {
		http.Error(w, "fake S3 is failing on purpose", rec.Status)
		return
	}
	if hang := s.hanging.Load(); hang != nil {
		// Take the request, then never answer until the hang ends or the
		// client gives up: S3 accepted the request and stalls.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-*hang:
		case <-r.Context().Done():
			return
		}
	}
	if s.latency > 0 {
		time.Sleep(s.latency)
	}
	q := r.URL.Query()
	if r.Method == http.MethodPut && q.Get("uploadId") != "" && q.Get("partNumber") != "" && r.Header.Get("X-Amz-Copy-Source") != "" {
		s.uploadPartCopy(w, r)
		return
	}
	if r.Method == http.MethodPut && q.Get("uploadId") != "" && q.Get("partNumber") != "" && r.ContentLength == 0 {
		s.uploadEmptyPart(w, r)
		return
	}
	s.faker.ServeHTTP(w, r)
}

// accessKeyOf is the access key ID a SigV4 request was signed with: the
// Credential of its Authorization header or of its pre-signed URL, up to the
// first "/".
func accessKeyOf(r *http.Request) string {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if cred == "" {
		_, cred, _ = strings.Cut(r.Header.Get("Authorization"), "Credential=")
	}
	id, _, _ := strings.Cut(cred, "/")
	return id
}

// copyPartResult is UploadPartCopy's answer.
type copyPartResult struct {
	XMLName      xml.Name             `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyPartResult"`
	LastModified gofakes3.ContentTime `xml:"LastModified"`
	ETag         string               `xml:"ETag"`
}

// uploadPartCopy serves UploadPartCopy: PUT /<bucket>/<key>?partNumber=N&uploadId=U
// with x-amz-copy-source: <bucket>/<key> and optionally
// x-amz-copy-source-range: bytes=<first>-<last>. The part becomes that range of
// the source object (all of it without the header).
func (s *S3) uploadPartCopy(w http.ResponseWriter, r *http.Request) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	part, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil {
		writeS3Error(w, gofakes3.ErrInvalidPart, "partNumber is not a number")
		return
	}
	srcBucket, srcKey, err := parseCopySource(r.Header.Get("X-Amz-Copy-Source"))
	if err != nil {
		writeS3Error(w, gofakes3.ErrInvalidArgument, err.Error())
		return
	}
	rng, err := parseCopySourceRange(r.Header.Get("X-Amz-Copy-Source-Range"))
	if err != nil {
		writeS3Error(w, gofakes3.ErrInvalidArgument, err.Error())
		return
	}
	etag, modified, err := s.store.CopyPart(bucket, key, gofakes3.UploadID(q.Get("uploadId")), part, srcBucket, srcKey, rng)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(copyPartResult{ETag: etag, LastModified: gofakes3.NewContentTime(modified)})
}

// uploadEmptyPart serves an UploadPart of 0 bytes, which gofakes3 refuses
// and S3 accepts (it sets no minimum for the last part): the s3-aws driver
// and ours complete an empty blob's upload with one.
func (s *S3) uploadEmptyPart(w http.ResponseWriter, r *http.Request) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	part, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil || part < 1 || part > gofakes3.MaxUploadPartNumber {
		writeS3Error(w, gofakes3.ErrInvalidPart, "partNumber is not between 1 and 10000")
		return
	}
	etag, err := s.store.UploadPart(bucket, key, gofakes3.UploadID(q.Get("uploadId")), part, 0, strings.NewReader(""))
	if err != nil {
		writeStoreError(w, err)
		return
	}
	w.Header().Set("ETag", etag)
	w.WriteHeader(http.StatusOK)
}

// parseCopySource splits x-amz-copy-source ("bucket/key", optionally with a
// leading slash, URL-encoded and with ?versionId=...).
func parseCopySource(v string) (bucket, key string, err error) {
	v, _, _ = strings.Cut(strings.TrimPrefix(v, "/"), "?")
	if u, err := url.PathUnescape(v); err == nil {
		v = u
	}
	bucket, key, ok := strings.Cut(strings.TrimPrefix(v, "/"), "/")
	if !ok || bucket == "" || key == "" {
		return "", "", fmt.Errorf("x-amz-copy-source %q is not bucket/key", v)
	}
	return bucket, key, nil
}

// parseCopySourceRange parses x-amz-copy-source-range, "bytes=first-last"
// (both required); "" is the whole object (nil).
func parseCopySourceRange(v string) (*gofakes3.ObjectRangeRequest, error) {
	if v == "" {
		return nil, nil
	}
	spec, ok := strings.CutPrefix(v, "bytes=")
	first, last, ok2 := strings.Cut(spec, "-")
	start, err1 := strconv.ParseInt(first, 10, 64)
	end, err2 := strconv.ParseInt(last, 10, 64)
	if !ok || !ok2 || err1 != nil || err2 != nil || start < 0 || end < start {
		return nil, fmt.Errorf("x-amz-copy-source-range %q is not bytes=first-last", v)
	}
	return &gofakes3.ObjectRangeRequest{Start: start, End: end}, nil
}

// writeStoreError answers with the store's S3 error code (InternalError if
// it has none).
func writeStoreError(w http.ResponseWriter, err error) {
	var e gofakes3.Error
	code := gofakes3.ErrInternal
	if errors.As(err, &e) {
		code = e.ErrorCode()
	}
	writeS3Error(w, code, err.Error())
}

func writeS3Error(w http.ResponseWriter, code gofakes3.ErrorCode, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(code.Status())
	fmt.Fprint(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(&gofakes3.ErrorResponse{Code: code, Message: msg})
}

// SetFailing makes every request fail with 503 (true) or be served (false).
func (s *S3) SetFailing(failing bool) { s.failing.Store(failing) }

// SetHanging makes every request hang (true): the stand-in reads it and sends
// no response until SetHanging(false) or the client closes the connection,
// as a stalled S3 request does. With false, hung requests are then served.
func (s *S3) SetHanging(hanging bool) {
	if hanging {
		ch := make(chan struct{})
		s.hanging.CompareAndSwap(nil, &ch)
		return
	}
	if ch := s.hanging.Swap(nil); ch != nil {
		close(*ch)
	}
}

// Requests returns the requests received so far.
func (s *S3) Requests() []S3Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Connections is how many connections the server has accepted so far.
func (s *S3) Connections() int64 { return s.connections.Load() }

// ObjectURL is the path-style URL of a key in the bucket.
func (s *S3) ObjectURL(key string) string {
	return s.URL + "/" + s.Bucket + "/" + key
}

// Keys lists every object key in the bucket.
func (s *S3) Keys(t TB) []string {
	t.Helper()
	var keys []string
	for _, o := range s.Objects(t) {
		keys = append(keys, o.Key)
	}
	return keys
}

// S3Object is an object in the bucket.
type S3Object struct {
	Key  string
	Size int64
}

// Objects lists every object in the bucket, in key order.
func (s *S3) Objects(t TB) []S3Object {
	t.Helper()
	list, err := s.store.ListBucket(s.Bucket, nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var objects []S3Object
	for _, c := range list.Contents {
		objects = append(objects, S3Object{Key: c.Key, Size: c.Size})
	}
	return objects
}

// ObjectReader reads an object's bytes straight from the store, past the S3
// model (a check of what is stored, not a transfer).
func (s *S3) ObjectReader(key string) (io.ReadCloser, error) {
	o, err := s.store.GetObject(s.Bucket, key, nil)
	if err != nil {
		return nil, err
	}
	return o.Contents, nil
}
