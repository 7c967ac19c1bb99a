package s3concurrent

import (
	"crypto/tls"
	"errors"
	"net/http"
	"reflect"
	"time"

	"github.com/aws/aws-sdk-go/service/s3"
	s3aws "github.com/distribution/distribution/v3/registry/storage/driver/s3-aws"
)

// ResponseHeaderTimeout bounds how long S3 may take to start its answer after
// it has received a whole request, on every S3 call of the driver (its own
// writer's and those of the s3-aws driver it wraps). Without it a stalled S3
// request holds the registry request waiting on it, a blob PUT for instance,
// open with no answer for as long as the connection lives.
//
// The bound starts only once the request body is sent, so it does not depend
// on the part size or the connection's rate: a 32 MiB part takes its time to
// upload, then S3 answers in well under a second. The slow S3 operations
// answer early too: CompleteMultipartUpload, CopyObject and UploadPartCopy
// send their 200 header as soon as they start and keep the connection alive
// with whitespace until they finish (Amazon S3 API Reference,
// CompleteMultipartUpload and CopyObject), so a 100 GB layer's completion and
// its 800-part copy are not cut. 10 s is fifty times S3's usual time to
// first byte (well under 200 ms). A timed-out call is retried by the AWS SDK
// (3 retries, its default retryer for S3), so one S3 call fails after about
// 4 × 10 s; a driver operation that makes calls in sequence after each
// other's failure (s3-aws's Stat: HeadObject, then ListObjectsV2) after their
// sum. The registry then answers its client with an error
// (TestBlobPutAgainstHungS3Fails, TestS3CallsAgainstAHungS3Fail).
const ResponseHeaderTimeout = 10 * time.Second

// idleConnections is how many idle connections to S3 the driver keeps for
// the next calls. Go's default keeps 2 per host, and S3 is the only host:
// after each burst of concurrent calls (5 parts of each upload in flight, up
// to multipartcopymaxconcurrency, 100, part copies of a blob moved into
// place) all but 2 connections were closed, and the next burst opened new
// ones, each a TLS handshake: CPU, a round trip and about 90 KiB of garbage
// (the server's certificate parsed and verified) per call. Idle connections
// still close after the transport's 90 s (IdleConnTimeout).
const idleConnections = 100

// httpClient is the HTTP client of every S3 call: Go's default transport
// (proxy from the environment, connection pooling, HTTP/2 attempts) with
// ResponseHeaderTimeout, keeping idleConnections.
func httpClient(skipVerify bool) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = ResponseHeaderTimeout
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = idleConnections, idleConnections
	if skipVerify {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	return &http.Client{Transport: tr}
}

// useClient makes the wrapped s3-aws driver's S3 client use c. s3-aws builds
// its client with the SDK's default HTTP client (no timeout at all) and offers
// no parameter for one; its driver keeps the client in the exported field S3.
// If a release changes that, the driver refuses to start instead of running
// without the timeout.
func useClient(inner *s3aws.Driver, c *http.Client) error {
	v := reflect.ValueOf(inner.StorageDriver)
	if v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
		if f := v.Elem().FieldByName("S3"); f.IsValid() && f.CanInterface() {
			if client, ok := f.Interface().(*s3.S3); ok && client != nil {
				client.Config.HTTPClient = c
				return nil
			}
		}
	}
	return errors.New(DriverName + ": distribution's s3-aws driver no longer keeps its S3 client in the field S3; update image/s3concurrent/timeouts.go for this release")
}
