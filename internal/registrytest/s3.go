package registrytest

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// S3 is an in-process S3-compatible server (gofakes3, in memory) with one bucket.
//
// It lacks UploadPartCopy, so blobs above the multipart-copy threshold (128 MiB)
// cannot be committed against it; tests use smaller blobs.
type S3 struct {
	// URL is the endpoint, "http://localhost:<port>".
	URL    string
	Bucket string

	backend  *s3mem.Backend
	server   *httptest.Server
	failing  atomic.Bool
	mu       sync.Mutex
	requests []S3Request
}

// S3Request is one request the fake S3 received.
type S3Request struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	// Status is 503 for requests refused while failing, else 0 (served).
	Status int
}

// StartS3 starts the server with the given bucket (Bucket if empty); it stops
// when the test ends.
func StartS3(t testing.TB, bucket string) *S3 {
	t.Helper()
	if bucket == "" {
		bucket = Bucket
	}
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	s := &S3{Bucket: bucket, backend: backend}
	faker := gofakes3.New(backend).Server()
	s.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := S3Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone()}
		if s.failing.Load() {
			rec.Status = http.StatusServiceUnavailable
		}
		s.mu.Lock()
		s.requests = append(s.requests, rec)
		s.mu.Unlock()
		if rec.Status != 0 {
			http.Error(w, "fake S3 is failing on purpose", rec.Status)
			return
		}
		faker.ServeHTTP(w, r)
	}))
	t.Cleanup(s.server.Close)
	// localhost, not 127.0.0.1: registry clients refuse redirects to loopback
	// IP literals (an SSRF guard), and pulls are redirected here.
	s.URL = strings.Replace(s.server.URL, "127.0.0.1", "localhost", 1)
	return s
}

// SetFailing makes every request fail with 503 (true) or be served (false).
func (s *S3) SetFailing(failing bool) { s.failing.Store(failing) }

// Requests returns the requests received so far.
func (s *S3) Requests() []S3Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Keys lists every object key in the bucket.
func (s *S3) Keys(t testing.TB) []string {
	t.Helper()
	list, err := s.backend.ListBucket(s.Bucket, nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range list.Contents {
		keys = append(keys, c.Key)
	}
	return keys
}
