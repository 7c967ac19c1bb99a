package s3concurrent

import (
	"github.com/aws/aws-sdk-go/service/s3"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
)

// What the external tests (package s3concurrent_test, which imports
// internal/registrytest, which imports this package) look at.

const MinPartSize = minPartSize

// Internals returns d's S3 client, bucket, key for path and parts in flight.
func Internals(d storagedriver.StorageDriver, path string) (client *s3.S3, bucket, key string, partsInFlight int) {
	in := d.(*Driver).StorageDriver.(*driver)
	return in.client, in.bucket, in.S3BucketKey(path), in.partsInFlight
}

// LimitBuffers sets d's part-buffer budget to n buffers and returns how many
// it has made so far.
func LimitBuffers(d storagedriver.StorageDriver, n int) func() int {
	p := d.(*Driver).StorageDriver.(*driver).buffers
	p.mu.Lock()
	p.limit = n
	p.mu.Unlock()
	return func() int {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.made
	}
}
