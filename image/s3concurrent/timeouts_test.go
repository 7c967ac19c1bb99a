package s3concurrent_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/s3concurrent"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/registrytest"
)

// With S3 stalled (the stand-in takes each request and never answers), both
// of the driver's S3 clients give up within the bound: the writer's own
// (a commit's last part and CompleteMultipartUpload) and the wrapped s3-aws
// driver's (a Stat, as the health check and blob PUTs make).
func TestS3CallsAgainstAHungS3Fail(t *testing.T) {
	t.Parallel()
	s := registrytest.StartS3(t, "")
	d := newDriver(t, s, "/hung")
	ctx := context.Background()
	if err := d.PutContent(ctx, "/present", []byte("x")); err != nil {
		t.Fatal(err)
	}
	w, err := d.Writer(ctx, "/upload", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(bytes.Repeat([]byte("a"), 1<<20)); err != nil {
		t.Fatal(err)
	}
	s.SetHanging(true)
	defer s.SetHanging(false)
	// Per S3 call, the SDK's first try and its 3 retries, each cut after the
	// timeout; the commit's first call (the last part) fails it, the Stat
	// tries HeadObject, then ListObjectsV2.
	perCall := 4 * s3concurrent.ResponseHeaderTimeout
	calls := []struct {
		name    string
		s3Calls int
		call    func() error
	}{
		{"writer commit", 1, func() error { return w.Commit(ctx) }},
		{"stat", 2, func() error { _, err := d.Stat(ctx, "/present"); return err }},
	}
	type result struct {
		name    string
		err     error
		elapsed time.Duration
		bound   time.Duration
	}
	results := make(chan result, len(calls))
	for _, c := range calls {
		go func() {
			start := time.Now()
			err := c.call()
			results <- result{c.name, err, time.Since(start), time.Duration(c.s3Calls)*perCall + 15*time.Second}
		}()
	}
	timeout := time.After(2*perCall + 45*time.Second)
	for range calls {
		select {
		case r := <-results:
			switch {
			case r.err == nil:
				t.Errorf("%s against a hung S3 succeeded", r.name)
			case r.elapsed > r.bound:
				t.Errorf("%s failed only after %v, beyond %v: %v", r.name, r.elapsed.Round(time.Second), r.bound, r.err)
			default:
				t.Logf("%s failed after %v: %v", r.name, r.elapsed.Round(time.Second), r.err)
			}
		case <-timeout:
			t.Fatalf("an S3 call against a hung S3 had no answer after %v", 2*perCall+45*time.Second)
		}
	}
}
