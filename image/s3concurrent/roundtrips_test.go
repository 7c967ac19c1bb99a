package s3concurrent_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/url"
	"testing"
	"time"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"

	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/registrytest"
)

// listings counts the S3 requests since the first n that list the bucket's
// uploads (ListMultipartUploads) or its objects (ListObjects).
func listings(s *registrytest.S3, n int) (uploads, objects int) {
	for _, r := range s.Requests()[n:] {
		q, _ := url.ParseQuery(r.RawQuery)
		if _, ok := q["uploads"]; ok && r.Method == "GET" {
			uploads++
		} else if _, ok := q["list-type"]; ok && r.Method == "GET" {
			objects++
		} else if r.Method == "GET" && r.Path == "/"+s.Bucket {
			objects++
		}
	}
	return
}

func write(t *testing.T, d storagedriver.StorageDriver, path string, appendMode bool, data []byte) int64 {
	t.Helper()
	w, err := d.Writer(context.Background(), path, appendMode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.Size()
}

// A task resumes the uploads it started without listing the bucket's
// uploads (one round trip less on every PATCH and PUT), and still sees what
// another task appended meanwhile, even when that task restarted the
// upload under a new ID (a last part under 5 MiB cannot be appended to).
func TestResumingARememberedUploadSeesOtherTasksParts(t *testing.T) {
	t.Parallel()
	s := registrytest.StartS3(t, "")
	a, b := newDriver(t, s, "/"), newDriver(t, s, "/")
	first, second, third := randomData(t, minPartSize), randomData(t, 1000), randomData(t, minPartSize+5)
	write(t, a, "/up", false, first)

	n := len(s.Requests())
	w, err := a.Writer(context.Background(), "/up", true)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Size(); got != minPartSize {
		t.Fatalf("task a resumed its upload at %d bytes; want %d", got, minPartSize)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if uploads, _ := listings(s, n); uploads != 0 {
		t.Errorf("resuming its own upload, task a listed the bucket's uploads %d times; want 0", uploads)
	}

	// Task b finds the upload (and remembers it) and appends a short last
	// part.
	if got := write(t, b, "/up", true, second); got != int64(len(first)+len(second)) {
		t.Fatalf("task b: size %d after appending", got)
	}
	// Task a, remembering the same upload, sees that part and appends: the
	// short last part makes it restart the upload under a new ID
	// (completing the old one).
	if got := write(t, a, "/up", true, third); got != int64(len(first)+len(second)+len(third)) {
		t.Fatalf("task a: size %d after appending after task b", got)
	}
	// Task b still remembers the old, completed upload: it must find the
	// new one.
	w, err = b.Writer(context.Background(), "/up", true)
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(append([]byte{}, first...), second...), third...)
	if got := w.Size(); got != int64(len(want)) {
		t.Fatalf("task b resumed at %d bytes after task a restarted the upload; want %d", got, len(want))
	}
	if err := w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	r, err := b.Reader(context.Background(), "/up", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, _ := io.ReadAll(r); !bytes.Equal(got, want) {
		t.Errorf("the committed blob has %d bytes, not the %d both tasks wrote", len(got), len(want))
	}
}

// Move copies an object above multipartcopythresholdsize part by part
// server-side and deletes the source without listing its prefix first.
func TestMoveCopiesInPartsAndDeletesWithoutListing(t *testing.T) {
	t.Parallel()
	s := registrytest.StartS3(t, "")
	p := params(s, "/")
	p["multipartcopythresholdsize"], p["multipartcopychunksize"], p["multipartcopymaxconcurrency"] = minPartSize, minPartSize, 2
	d := newDriverWith(t, p)
	data := randomData(t, 3*minPartSize+11)
	if err := d.PutContent(context.Background(), "/from/data", data); err != nil {
		t.Fatal(err)
	}
	n := len(s.Requests())
	if err := d.Move(context.Background(), "/from/data", "/to/data"); err != nil {
		t.Fatal(err)
	}
	if _, objects := listings(s, n); objects != 0 {
		t.Errorf("Move listed objects %d times; want 0 (one HeadObject, the copy, one DeleteObject)", objects)
	}
	copies := 0
	for _, r := range s.Requests()[n:] {
		if r.Header.Get("X-Amz-Copy-Source") != "" {
			copies++
		}
	}
	if copies != 4 {
		t.Errorf("Move made %d copy requests; want 4 UploadPartCopy of at most %d bytes", copies, minPartSize)
	}
	got, err := d.GetContent(context.Background(), "/to/data")
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("moved object: %d bytes, %v; want the %d bytes put", len(got), err, len(data))
	}
	if _, err := d.Stat(context.Background(), "/from/data"); !errors.As(err, new(storagedriver.PathNotFoundError)) {
		t.Errorf("the source after Move: %v; want PathNotFoundError", err)
	}
}

// Connections to S3 outlive a burst of concurrent calls: a second move of a
// blob in parallel part copies opens no connection the first did not (Go's
// default transport keeps 2 idle per host, and each new one is a TLS
// handshake).
func TestConcurrentCallsReuseTheirConnections(t *testing.T) {
	t.Parallel()
	const copiesAtOnce = 8
	// The latency keeps the copies in flight together, as S3's does.
	s := registrytest.StartS3With(t, registrytest.S3Options{Model: registrytest.S3Model{Latency: 50 * time.Millisecond}})
	p := params(s, "/")
	p["multipartcopythresholdsize"], p["multipartcopychunksize"], p["multipartcopymaxconcurrency"] = minPartSize, minPartSize, copiesAtOnce
	d := newDriverWith(t, p)
	if err := d.PutContent(context.Background(), "/a/data", randomData(t, copiesAtOnce*minPartSize)); err != nil {
		t.Fatal(err)
	}
	if err := d.Move(context.Background(), "/a/data", "/b/data"); err != nil {
		t.Fatal(err)
	}
	first := s.Connections()
	if first < copiesAtOnce {
		t.Fatalf("the first move used %d connections; the test wants its %d copies in flight at once", first, copiesAtOnce)
	}
	if err := d.Move(context.Background(), "/b/data", "/c/data"); err != nil {
		t.Fatal(err)
	}
	if opened := s.Connections() - first; opened > 0 {
		t.Errorf("the second move opened %d new connections to S3; want 0: the first move's %d were closed instead of kept idle", opened, first)
	}
}

// A Stat of a blob's data that finds nothing (the registry's check before
// it moves a new blob into place) is one HeadObject: a blob's data is never
// a directory. Any other path is still listed as a possible directory, as
// s3-aws does.
func TestStatOfAMissingBlobDoesNotList(t *testing.T) {
	t.Parallel()
	s := registrytest.StartS3(t, "")
	d := newDriver(t, s, "/registry")
	ctx := context.Background()
	blob := "/docker/registry/v2/blobs/sha256/ab/ab01cd/data"
	n := len(s.Requests())
	if _, err := d.Stat(ctx, blob); !errors.As(err, new(storagedriver.PathNotFoundError)) {
		t.Fatalf("Stat of a missing blob: %v; want PathNotFoundError", err)
	}
	if _, objects := listings(s, n); objects != 0 {
		t.Errorf("Stat of a missing blob listed objects %d times; want 0", objects)
	}
	for _, p := range []string{"/docker/registry/v2/blobs/sha256/ab/ab01cd", "/docker/registry/v2/repositories/data"} {
		if err := d.PutContent(ctx, p+"/data/x", []byte("under it")); err != nil {
			t.Fatal(err)
		}
		n = len(s.Requests())
		fi, err := d.Stat(ctx, p)
		if err != nil || !fi.IsDir() {
			t.Errorf("Stat of %s, a directory: %+v, %v", p, fi, err)
		}
		if _, objects := listings(s, n); objects != 1 {
			t.Errorf("Stat of %s listed objects %d times; want 1 (a directory is found by listing)", p, objects)
		}
	}
	content := []byte("blob bytes")
	if err := d.PutContent(ctx, blob, content); err != nil {
		t.Fatal(err)
	}
	fi, err := d.Stat(ctx, blob)
	if err != nil || fi.IsDir() || fi.Size() != int64(len(content)) || fi.ModTime().IsZero() {
		t.Errorf("Stat of a blob: %+v, %v; want a file of %d bytes with its time", fi, err, len(content))
	}
}
