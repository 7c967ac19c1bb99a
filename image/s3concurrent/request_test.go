package s3concurrent_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/s3concurrent"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/registrytest"
)

// inRequest is ctx as distribution's handlers make it for the HTTP request
// id: its ID under "http.request.id" (internal/dcontext).
func inRequest(ctx context.Context, id string) context.Context {
	//lint:ignore SA1029 distribution's own key, a string
	return context.WithValue(ctx, "http.request.id", id)
}

// ops counts the S3 requests since the first n by operation.
func ops(s *registrytest.S3, n int) map[string]int {
	got := map[string]int{}
	for _, r := range s.Requests()[n:] {
		switch {
		case r.Method == "HEAD":
			got["HeadObject"]++
		case r.Method == "PUT" && r.Header.Get("X-Amz-Copy-Source") != "":
			got["Copy"]++
		}
	}
	return got
}

// The final PUT of an upload asks S3 nothing it has just told S3: after the
// commit, the registry's two Stats of the upload and Move's own answer from
// what the commit wrote, while a Stat in another request, or after the
// object is deleted, asks S3.
func TestARequestStatsWhatItCommittedWithoutAskingS3(t *testing.T) {
	t.Parallel()
	s := registrytest.StartS3(t, "")
	d := newDriver(t, s, "/")
	other := newDriver(t, s, "/") // another task
	data := randomData(t, s3concurrent.MinPartSize+100)
	commit := func(ctx context.Context, path string) {
		t.Helper()
		w, err := d.Writer(ctx, path, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}

	put := inRequest(context.Background(), "put-1")
	commit(put, "/uploads/1/data")
	n := len(s.Requests())
	for range 2 {
		fi, err := d.Stat(put, "/uploads/1/data")
		if err != nil || fi.Size() != int64(len(data)) || fi.IsDir() {
			t.Fatalf("Stat after the commit: %+v, %v; want a file of %d bytes", fi, err, len(data))
		}
	}
	if err := d.Move(put, "/uploads/1/data", "/blobs/1/data"); err != nil {
		t.Fatal(err)
	}
	if got := ops(s, n); got["HeadObject"] != 0 || got["Copy"] != 1 {
		t.Errorf("two Stats and a Move of the object the request committed made %v; want no HeadObject, one copy", got)
	}
	if got, err := d.GetContent(put, "/blobs/1/data"); err != nil || !bytes.Equal(got, data) {
		t.Errorf("moved blob: %d bytes, %v; want the %d committed", len(got), err, len(data))
	}
	if _, err := d.Stat(put, "/uploads/1/data"); !errors.As(err, new(storagedriver.PathNotFoundError)) {
		t.Errorf("Stat of the moved source in the same request: %v; want PathNotFoundError", err)
	}

	// Another request asks S3.
	commit(put, "/uploads/2/data")
	n = len(s.Requests())
	if fi, err := d.Stat(inRequest(context.Background(), "put-2"), "/uploads/2/data"); err != nil || fi.Size() != int64(len(data)) {
		t.Fatalf("Stat in another request: %v, %v", fi, err)
	}
	if got := ops(s, n); got["HeadObject"] != 1 {
		t.Errorf("a Stat in another request made %v; want one HeadObject", got)
	}

	// Deleted by this driver: the request's memo is forgotten.
	if err := d.Delete(put, "/uploads/2"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Stat(put, "/uploads/2/data"); !errors.As(err, new(storagedriver.PathNotFoundError)) {
		t.Errorf("Stat after deleting the upload's directory: %v; want PathNotFoundError", err)
	}

	// Deleted by another task between the commit and the move: the move
	// fails as the object is gone, and nothing appears at the destination.
	commit(put, "/uploads/3/data")
	if err := other.Delete(context.Background(), "/uploads/3"); err != nil {
		t.Fatal(err)
	}
	if err := d.Move(put, "/uploads/3/data", "/blobs/3/data"); !errors.As(err, new(storagedriver.PathNotFoundError)) {
		t.Errorf("Move of an upload another task deleted: %v; want PathNotFoundError", err)
	}
	if _, err := other.Stat(context.Background(), "/blobs/3/data"); !errors.As(err, new(storagedriver.PathNotFoundError)) {
		t.Errorf("destination after the failed move: %v; want nothing there", err)
	}
}

// TestDriverSuiteInOneRequest runs the storage-driver suite again with every
// call in one request, so that each answer the memo gives is checked against
// what the suite wrote, deleted and moved.
func TestDriverSuiteInOneRequest(t *testing.T) {
	runDriverSuite(t, func(d storagedriver.StorageDriver) storagedriver.StorageDriver { return oneRequest{d} })
}

// oneRequest gives every call the same request ID.
type oneRequest struct{ storagedriver.StorageDriver }

func in(ctx context.Context) context.Context { return inRequest(ctx, "the-suite") }

func (d oneRequest) GetContent(ctx context.Context, path string) ([]byte, error) {
	return d.StorageDriver.GetContent(in(ctx), path)
}

func (d oneRequest) PutContent(ctx context.Context, path string, content []byte) error {
	return d.StorageDriver.PutContent(in(ctx), path, content)
}

func (d oneRequest) Reader(ctx context.Context, path string, offset int64) (io.ReadCloser, error) {
	return d.StorageDriver.Reader(in(ctx), path, offset)
}

func (d oneRequest) Writer(ctx context.Context, path string, appendMode bool) (storagedriver.FileWriter, error) {
	w, err := d.StorageDriver.Writer(in(ctx), path, appendMode)
	if err != nil {
		return nil, err
	}
	return oneRequestWriter{w}, nil
}

func (d oneRequest) Stat(ctx context.Context, path string) (storagedriver.FileInfo, error) {
	return d.StorageDriver.Stat(in(ctx), path)
}

func (d oneRequest) List(ctx context.Context, path string) ([]string, error) {
	return d.StorageDriver.List(in(ctx), path)
}

func (d oneRequest) Move(ctx context.Context, source, dest string) error {
	return d.StorageDriver.Move(in(ctx), source, dest)
}

func (d oneRequest) Delete(ctx context.Context, path string) error {
	return d.StorageDriver.Delete(in(ctx), path)
}

func (d oneRequest) Walk(ctx context.Context, path string, f storagedriver.WalkFn, options ...func(*storagedriver.WalkOptions)) error {
	return d.StorageDriver.Walk(in(ctx), path, f, options...)
}

type oneRequestWriter struct{ storagedriver.FileWriter }

func (w oneRequestWriter) Commit(ctx context.Context) error { return w.FileWriter.Commit(in(ctx)) }
func (w oneRequestWriter) Cancel(ctx context.Context) error { return w.FileWriter.Cancel(in(ctx)) }

// The registry's POST opens a writer, stores the upload's hash state and
// closes the writer: S3 creates the multipart upload while the hash state is
// written, not before, and Close returns only once the upload exists, so
// that the next request, on any task, resumes it.
func TestANewUploadIsCreatedWhileTheRequestGoesOn(t *testing.T) {
	t.Parallel()
	s := registrytest.StartS3With(t, registrytest.S3Options{Model: registrytest.S3Model{Latency: 300 * time.Millisecond}})
	d := newDriver(t, s, "/")
	ctx := context.Background()
	n := len(s.Requests())
	w, err := d.Writer(ctx, "/uploads/1/data", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.PutContent(ctx, "/uploads/1/hashstates/sha256/0", []byte("state")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var create, put *registrytest.S3Request
	for _, r := range s.Requests()[n:] {
		switch {
		case r.Method == "POST" && strings.Contains(r.RawQuery, "uploads"):
			create = &r
		case r.Method == "PUT":
			put = &r
		}
	}
	if create == nil || put == nil {
		t.Fatalf("requests: create %v, put %v; want both", create, put)
	}
	if create.Took == 0 {
		t.Error("Close returned before S3 had created the upload")
	}
	if !put.Start.Before(create.Start.Add(create.Took)) {
		t.Errorf("the hash state was written %v after the upload's creation began, once it had ended (%v): one round trip after the other", put.Start.Sub(create.Start), create.Took)
	}
	resumed, err := newDriver(t, s, "/").Writer(ctx, "/uploads/1/data", true)
	if err != nil {
		t.Fatalf("another task resuming the upload: %v", err)
	}
	_ = resumed.Close()
}

// A creation S3 refuses fails the writer's Close and Commit, and its
// Cancel has nothing to abort.
func TestAFailedCreationFailsTheWriter(t *testing.T) {
	t.Parallel()
	s := registrytest.StartS3(t, "")
	d := newDriver(t, s, "/")
	ctx := context.Background()
	s.SetFailing(true)
	for _, end := range []struct {
		name string
		do   func(storagedriver.FileWriter) error
	}{
		{"Close", func(w storagedriver.FileWriter) error { return w.Close() }},
		{"Commit", func(w storagedriver.FileWriter) error { return w.Commit(ctx) }},
	} {
		w, err := d.Writer(ctx, "/uploads/f/data", false)
		if err != nil {
			t.Fatalf("Writer: %v; want the creation's error at the end", err)
		}
		if _, err := w.Write([]byte("blob")); err != nil {
			t.Fatalf("Write of a small blob, which waits for no part: %v", err)
		}
		if err := end.do(w); err == nil {
			t.Errorf("%s of a writer whose upload S3 refused to create: no error", end.name)
		}
	}
	w, err := d.Writer(ctx, "/uploads/f/data", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Cancel(ctx); err != nil {
		t.Errorf("Cancel of a writer whose upload was never created: %v; want nothing to abort", err)
	}
	s.SetFailing(false)
}
