package bench

import (
	"net/http"
	"testing"

	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/registrytest"
)

// Each request the registry's S3 SDK makes is named as the S3 API Reference
// names its operation (path-style requests, as the stand-in receives them).
func TestS3Operation(t *testing.T) {
	copyHeader := http.Header{"X-Amz-Copy-Source": {"bucket/a"}}
	for _, tc := range []struct {
		req  registrytest.S3Request
		want string
	}{
		{registrytest.S3Request{Method: "POST", Path: "/b/k", RawQuery: "uploads="}, "CreateMultipartUpload"},
		{registrytest.S3Request{Method: "POST", Path: "/b/k", RawQuery: "uploadId=1"}, "CompleteMultipartUpload"},
		{registrytest.S3Request{Method: "POST", Path: "/b", RawQuery: "delete="}, "DeleteObjects"},
		{registrytest.S3Request{Method: "PUT", Path: "/b/k", RawQuery: "partNumber=2&uploadId=1"}, "UploadPart"},
		{registrytest.S3Request{Method: "PUT", Path: "/b/k", RawQuery: "partNumber=2&uploadId=1", Header: copyHeader}, "UploadPartCopy"},
		{registrytest.S3Request{Method: "PUT", Path: "/b/k", Header: copyHeader}, "CopyObject"},
		{registrytest.S3Request{Method: "PUT", Path: "/b/k"}, "PutObject"},
		{registrytest.S3Request{Method: "GET", Path: "/b", RawQuery: "prefix=k&uploads="}, "ListMultipartUploads"},
		{registrytest.S3Request{Method: "GET", Path: "/b", RawQuery: "list-type=2&prefix=k"}, "ListObjects"},
		{registrytest.S3Request{Method: "GET", Path: "/b/k", RawQuery: "uploadId=1"}, "ListParts"},
		{registrytest.S3Request{Method: "GET", Path: "/b/k"}, "GetObject"},
		{registrytest.S3Request{Method: "HEAD", Path: "/b/k"}, "HeadObject"},
		{registrytest.S3Request{Method: "DELETE", Path: "/b/k", RawQuery: "uploadId=1"}, "AbortMultipartUpload"},
		{registrytest.S3Request{Method: "DELETE", Path: "/b/k"}, "DeleteObject"},
	} {
		if got := s3Operation(tc.req); got != tc.want {
			t.Errorf("%s %s?%s: %s; want %s", tc.req.Method, tc.req.Path, tc.req.RawQuery, got, tc.want)
		}
	}
	if !isHealthCheck(registrytest.S3Request{Method: "GET", Path: "/b", RawQuery: "list-type=2&max-keys=1&prefix="}) ||
		isHealthCheck(registrytest.S3Request{Method: "GET", Path: "/b", RawQuery: "list-type=2&max-keys=1&prefix=docker%2Fregistry%2Fv2%2Frepositories"}) {
		t.Error("only the listing of the whole bucket is the health check's")
	}
	// Another registry's upload purge (a listing of every repository, a
	// read of each upload's startedat) is not the measured registry's.
	mine := registrytest.S3Request{Method: "PUT", Path: "/b/k", AccessKey: "registrytest-1"}
	theirs := []registrytest.S3Request{
		{Method: "GET", Path: "/b", RawQuery: "list-type=2&prefix=docker%2Fregistry%2Fv2%2Frepositories%2F", AccessKey: "registrytest-2"},
		{Method: "GET", Path: "/b/docker/registry/v2/repositories/syn1/x/_uploads/u/startedat", AccessKey: "registrytest-2"},
		{Method: "GET", Path: "/b", RawQuery: "list-type=2&max-keys=1&prefix=", AccessKey: "registrytest-1"},
	}
	if got := requestsSignedBy("registrytest-1", append([]registrytest.S3Request{mine}, theirs...)); len(got) != 1 || got[0].Path != mine.Path {
		t.Errorf("the measured registry's requests: %+v, want only %+v", got, mine)
	}
	ops := countS3Ops([]registrytest.S3Request{{Method: "HEAD", Path: "/b/k"}, {Method: "GET", Path: "/b/k"}, {Method: "HEAD", Path: "/b/j"}})
	if got := ops.String(); got != "HeadObject 2, GetObject 1" || ops.Total() != 3 {
		t.Errorf("counts %q (total %d); want \"HeadObject 2, GetObject 1\" (3)", got, ops.Total())
	}
}
