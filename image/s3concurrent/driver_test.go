package s3concurrent_test

import (
	"context"
	"flag"
	"strings"
	"testing"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/testsuites"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/s3concurrent"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/registrytest"
)

// params are the driver's parameters for the S3 stand-in s: 5 MiB parts (S3's
// minimum, so the suite's streams span many parts) and 3 in flight.
func params(s *registrytest.S3, root string) map[string]any {
	return map[string]any{
		"region": "us-east-1", "regionendpoint": s.URL, "bucket": s.Bucket, "forcepathstyle": true,
		"secure": false, "v4auth": true, "accesskey": "test", "secretkey": "test",
		"encrypt": true, "chunksize": s3concurrent.MinPartSize, "rootdirectory": root,
		s3concurrent.PartsInFlightParameter: 3,
	}
}

func newDriver(t testing.TB, s *registrytest.S3, root string) storagedriver.StorageDriver {
	t.Helper()
	return newDriverWith(t, params(s, root))
}

func newDriverWith(t testing.TB, p map[string]any) storagedriver.StorageDriver {
	t.Helper()
	d, err := s3concurrent.FromParameters(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDriverSuite runs distribution's storage-driver test suite against this
// driver on the S3 stand-in, in the suite's own short configuration (its
// concurrency tests on 10 MB files; its 5 GB stream is left to the
// benchmark's 10 GiB push, docs/performance.md).
func TestDriverSuite(t *testing.T) {
	runDriverSuite(t, func(d storagedriver.StorageDriver) storagedriver.StorageDriver { return d })
}

// runDriverSuite runs the suite in its short configuration on a fresh S3
// stand-in, against the driver as wrap returns it.
func runDriverSuite(t *testing.T, wrap func(storagedriver.StorageDriver) storagedriver.StorageDriver) {
	if f := flag.Lookup("test.short"); f != nil && f.Value.String() != "true" {
		if err := f.Value.Set("true"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.Value.Set("false") })
	}
	s := registrytest.StartS3(t, "")
	testsuites.Driver(t, func() (storagedriver.StorageDriver, error) {
		d, err := s3concurrent.FromParameters(context.Background(), params(s, "/suite"))
		if err != nil {
			return nil, err
		}
		return wrap(d), nil
	}, false)
}

func TestParametersAreChecked(t *testing.T) {
	s := registrytest.StartS3(t, "")
	for _, tc := range []struct {
		change map[string]any
		want   string
	}{
		{map[string]any{s3concurrent.PartsInFlightParameter: 0}, "partsinflight must be between 1 and 64"},
		{map[string]any{s3concurrent.PartsInFlightParameter: "many"}, "partsinflight must be an integer"},
		{map[string]any{"usedualstack": true, "v4auth": false}, "does not support usedualstack, v4auth other than true"},
	} {
		p := params(s, "/")
		for k, v := range tc.change {
			p[k] = v
		}
		_, err := s3concurrent.FromParameters(context.Background(), p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v; want one saying %q", tc.change, err, tc.want)
		}
	}
}
