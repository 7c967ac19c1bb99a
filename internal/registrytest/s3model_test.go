package registrytest

import (
	"bytes"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/s3"
)

// The S3 model caps each connection, not the server: one upload of n bytes
// takes at least n / rate, and two uploads on two connections at once take
// about as long as one (each has its own cap). Every request waits the
// latency first. Without the model the same transfers take a fraction of it.
func TestS3ModelCapsEachConnectionAndDelaysEachRequest(t *testing.T) {
	t.Parallel()
	const (
		rate    = 8 << 20 // bytes/s per connection
		size    = 4 << 20 // 500 ms at the rate: well above a loaded machine's loopback upload
		latency = 100 * time.Millisecond
	)
	data := randomBytes(size, 7)
	put := func(s *S3, keys ...string) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for _, k := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// A client per key: its own connection.
				c := s3Client(t, s)
				c.Client.Config.HTTPClient = &http.Client{Transport: Transport(s.Certificate)}
				if _, err := c.PutObject(&s3.PutObjectInput{Bucket: aws.String(Bucket), Key: aws.String(k), Body: bytes.NewReader(data)}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	modelled := StartS3With(t, S3Options{Model: S3Model{ConnRate: rate, Latency: latency}})
	want := time.Duration(float64(size)/rate*float64(time.Second)) + latency
	if got := put(modelled, "one"); got < want*9/10 {
		t.Errorf("one %d-byte upload at %d B/s and %v latency took %v; want at least %v", size, rate, latency, got, want)
	}
	if got := put(modelled, "a", "b"); got < want*9/10 || got > 2*want {
		t.Errorf("two uploads on two connections took %v; want about %v (a cap per connection, not per server)", got, want)
	}
	start := time.Now()
	if _, err := s3Client(t, modelled).HeadObject(&s3.HeadObjectInput{Bucket: aws.String(Bucket), Key: aws.String("one")}); err != nil {
		t.Fatal(err)
	}
	if got := time.Since(start); got < latency {
		t.Errorf("a HEAD took %v; want at least the %v latency", got, latency)
	}
	// The control: on loopback the first check above must fail, or it would not tell the model
	// from loopback. Exactly its negation, so a loaded machine's slower loopback does not fail it.
	if got := put(StartS3(t, ""), "one"); got >= want*9/10 {
		t.Errorf("without the model the upload took %v, at least the modelled %v; the check above would not tell the model from loopback", got, want*9/10)
	}
}
