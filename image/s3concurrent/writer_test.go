package s3concurrent_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/request"
	"github.com/aws/aws-sdk-go/service/s3"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/s3concurrent"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/registrytest"
)

const minPartSize = s3concurrent.MinPartSize

// under is the driver on s with what the tests look at inside it.
type under struct {
	storagedriver.StorageDriver
	client        *s3.S3
	bucket        string
	partsInFlight int
}

func (u under) S3BucketKey(path string) string {
	_, _, key, _ := s3concurrent.Internals(u.StorageDriver, path)
	return key
}

func inner(t *testing.T, s *registrytest.S3) under {
	t.Helper()
	d := newDriver(t, s, "/")
	client, bucket, _, n := s3concurrent.Internals(d, "/")
	return under{d, client, bucket, n}
}

func randomData(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func readAll(t *testing.T, d under, path string) []byte {
	t.Helper()
	r, err := d.Reader(context.Background(), path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startUpload starts a multipart upload at path with the S3 client alone, as
// another task would have.
func startUpload(t *testing.T, d under, path string) (string, *s3.CreateMultipartUploadOutput) {
	t.Helper()
	key := d.S3BucketKey(path)
	out, err := d.client.CreateMultipartUpload(&s3.CreateMultipartUploadInput{Bucket: aws.String(d.bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	return key, out
}

// Parts go up concurrently, never more than partsinflight at once: with a
// round trip of 100 ms per request, 12 parts keep 3 in flight.
func TestPartsUploadConcurrentlyWithinTheBound(t *testing.T) {
	t.Parallel()
	s := registrytest.StartS3With(t, registrytest.S3Options{Model: registrytest.S3Model{Latency: 100 * time.Millisecond}})
	d := inner(t, s)
	var now, peak atomic.Int32
	d.client.Handlers.Send.PushFront(func(r *request.Request) {
		if r.Operation.Name == "UploadPart" {
			n := now.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
		}
	})
	d.client.Handlers.Send.PushBack(func(r *request.Request) {
		if r.Operation.Name == "UploadPart" {
			now.Add(-1)
		}
	})
	data := randomData(t, 12*minPartSize+7)
	w, err := d.Writer(context.Background(), "/blob", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := peak.Load(); got != int32(d.partsInFlight) {
		t.Errorf("at most %d parts were in flight at once; want exactly partsinflight, %d", got, d.partsInFlight)
	}
	if !bytes.Equal(readAll(t, d, "/blob"), data) {
		t.Error("the committed object differs from what was written")
	}
}

// A writer resumed in another request (or task) finds its upload's parts past
// S3's 1,000 per ListParts page.
func TestResumeListsPartsPastOneThousand(t *testing.T) {
	t.Parallel()
	s := registrytest.StartS3(t, "")
	d := inner(t, s)
	key, out := startUpload(t, d, "/many")
	const parts, size = 1001, 1024
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for n := 1; n <= parts; n++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := d.client.UploadPart(&s3.UploadPartInput{Bucket: aws.String(d.bucket), Key: aws.String(key), UploadId: out.UploadId,
				PartNumber: aws.Int64(int64(n)), Body: bytes.NewReader(make([]byte, size))}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	w, err := d.Writer(context.Background(), "/many", true)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Size(); got != parts*size {
		t.Errorf("resumed size %d; want %d (%d parts; one ListParts page holds 1,000)", got, parts*size, parts)
	}
	if err := w.Cancel(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A task stopped with parts in flight can leave a hole: parts 1, 2 and 4
// uploaded, 3 not. The upload's bytes are parts 1 and 2; resuming appends
// after them, and part 4 never shows up in the blob, now or on a later
// resume.
func TestResumeAfterAHoleKeepsOnlyTheContiguousParts(t *testing.T) {
	t.Parallel()
	s := registrytest.StartS3(t, "")
	d := inner(t, s)
	key, out := startUpload(t, d, "/holey")
	data := randomData(t, 4*minPartSize)
	for _, n := range []int{1, 2, 4} {
		part := data[(n-1)*minPartSize : n*minPartSize]
		if _, err := d.client.UploadPart(&s3.UploadPartInput{Bucket: aws.String(d.bucket), Key: aws.String(key), UploadId: out.UploadId,
			PartNumber: aws.Int64(int64(n)), Body: bytes.NewReader(part)}); err != nil {
			t.Fatal(err)
		}
	}
	w, err := d.Writer(context.Background(), "/holey", true)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Size(); got != 2*minPartSize {
		t.Fatalf("resumed size %d; want the two parts before the hole, %d", got, 2*minPartSize)
	}
	more := randomData(t, minPartSize+3)
	if _, err := w.Write(more); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Resume once more (as the next PATCH would) and commit.
	w, err = d.Writer(context.Background(), "/holey", true)
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte{}, data[:2*minPartSize]...), more...)
	if got := w.Size(); got != int64(len(want)) {
		t.Fatalf("second resume: size %d; want %d", got, len(want))
	}
	if err := w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, d, "/holey"); !bytes.Equal(got, want) {
		t.Errorf("the blob has %d bytes, not the %d written before the hole and after it", len(got), len(want))
	}
}

// Each part's bytes are protected by the SHA-256 SigV4 signs, which S3 checks
// against what it receives (a part that does not match is refused with
// XAmzContentSHA256Mismatch); the MD5 the SDK would add as Content-MD5 checks
// the same bytes again at a higher CPU cost, and is not sent.
func TestPartsCarryTheirSignedHashAndNoMD5(t *testing.T) {
	t.Parallel()
	s := registrytest.StartS3(t, "bucket")
	d := inner(t, s)
	// The driver hands the signer each part's hash: left to itself, the
	// signer hashes the body again through a fresh 32 KiB buffer per part.
	var signerHashed atomic.Int32
	d.client.Handlers.Sign.PushFront(func(r *request.Request) {
		if r.Operation.Name == "UploadPart" && r.HTTPRequest.Header.Get("X-Amz-Content-Sha256") == "" {
			signerHashed.Add(1)
		}
	})
	data := randomData(t, 2*minPartSize+9)
	w, err := d.Writer(context.Background(), "/blob", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for off := 0; off < len(data); off += minPartSize {
		sum := sha256.Sum256(data[off:min(off+minPartSize, len(data))])
		want[hex.EncodeToString(sum[:])] = true
	}
	parts := 0
	for _, r := range s.Requests() {
		if r.Method != "PUT" || !strings.Contains(r.RawQuery, "partNumber=") {
			continue
		}
		parts++
		if got := r.Header.Get("X-Amz-Content-Sha256"); !want[got] {
			t.Errorf("part %s: X-Amz-Content-Sha256 %q is not the SHA-256 of any part's bytes: S3 could not refuse a corrupted part", r.RawQuery, got)
		}
		if !strings.Contains(r.Header.Get("Authorization"), "x-amz-content-sha256") {
			t.Errorf("part %s: the payload hash is not among the signed headers: %q", r.RawQuery, r.Header.Get("Authorization"))
		}
		if md5 := r.Header.Get("Content-Md5"); md5 != "" {
			t.Errorf("part %s carries Content-MD5 %q: a second hash of every byte", r.RawQuery, md5)
		}
	}
	if parts != len(want) {
		t.Errorf("%d parts uploaded, want %d", parts, len(want))
	}
	if n := signerHashed.Load(); n > 0 {
		t.Errorf("%d parts came to the signer without their hash: it hashed their bytes a second time", n)
	}
}

// Uploads that together want more part buffers than the budget share them:
// each waits for a buffer a completed part returns, none fails, and the
// process never makes more than the budget.
func TestUploadsBeyondTheBufferBudgetShareIt(t *testing.T) {
	t.Parallel()
	s := registrytest.StartS3With(t, registrytest.S3Options{Model: registrytest.S3Model{Latency: 20 * time.Millisecond}})
	d := inner(t, s)
	budget := d.partsInFlight + 1 // one upload's worth, for three uploads
	made := s3concurrent.LimitBuffers(d.StorageDriver, budget)
	blobs := make([][]byte, 3)
	errs := make([]error, len(blobs))
	var wg sync.WaitGroup
	for i := range blobs {
		blobs[i] = randomData(t, 6*minPartSize+i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := d.Writer(context.Background(), fmt.Sprintf("/blob-%d", i), false)
			if err == nil {
				_, err = io.Copy(w, bytes.NewReader(blobs[i]))
			}
			if err == nil {
				err = w.Commit(context.Background())
			}
			if err == nil {
				err = w.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("upload %d: %v", i, err)
		}
		if !bytes.Equal(readAll(t, d, fmt.Sprintf("/blob-%d", i)), blobs[i]) {
			t.Errorf("upload %d: the committed object differs from what was written", i)
		}
	}
	if n := made(); n > budget {
		t.Errorf("%d part buffers made with a budget of %d", n, budget)
	}
}
