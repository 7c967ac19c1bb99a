package bench

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/registrytest"
)

// s3Operation names the S3 API operation a request to the stand-in is
// (path-style: /bucket or /bucket/key), as the Amazon S3 API Reference names
// them.
func s3Operation(r registrytest.S3Request) string {
	q, _ := url.ParseQuery(r.RawQuery)
	_, key, _ := strings.Cut(strings.TrimPrefix(r.Path, "/"), "/")
	has := func(k string) bool { _, ok := q[k]; return ok }
	copySource := r.Header.Get("X-Amz-Copy-Source") != ""
	switch r.Method {
	case http.MethodPost:
		switch {
		case has("uploads"):
			return "CreateMultipartUpload"
		case has("uploadId"):
			return "CompleteMultipartUpload"
		case has("delete"):
			return "DeleteObjects"
		}
	case http.MethodPut:
		switch {
		case has("uploadId") && copySource:
			return "UploadPartCopy"
		case has("uploadId"):
			return "UploadPart"
		case copySource:
			return "CopyObject"
		default:
			return "PutObject"
		}
	case http.MethodGet:
		switch {
		case key == "" && has("uploads"):
			return "ListMultipartUploads"
		case key == "":
			return "ListObjects"
		case has("uploadId"):
			return "ListParts"
		default:
			return "GetObject"
		}
	case http.MethodHead:
		return "HeadObject"
	case http.MethodDelete:
		if has("uploadId") {
			return "AbortMultipartUpload"
		}
		return "DeleteObject"
	}
	return r.Method + " " + r.Path
}

// S3Ops counts S3 requests by operation.
type S3Ops map[string]int

func countS3Ops(reqs []registrytest.S3Request) S3Ops {
	ops := S3Ops{}
	for _, r := range reqs {
		ops[s3Operation(r)]++
	}
	return ops
}

// Total is the number of requests.
func (o S3Ops) Total() int {
	n := 0
	for _, c := range o {
		n += c
	}
	return n
}

// String lists the counts, most frequent first: "UploadPart 16, HeadObject 5".
func (o S3Ops) String() string {
	names := make([]string, 0, len(o))
	for k := range o {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int {
		if o[a] != o[b] {
			return o[b] - o[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s %d", k, o[k])
	}
	return strings.Join(parts, ", ")
}

// s3RequestsOf are the S3 requests reg signed after the first n the stand-in
// received, but for its storage health checks. Other registries' requests
// (their health checks, and their upload purges, which start at a random
// minute of a registry's first hour and read every upload's startedat) are
// not reg's.
func (b *bench) s3RequestsOf(reg *registrytest.Registry, n int) []registrytest.S3Request {
	reqs := b.s3.Requests()
	return requestsSignedBy(reg.S3AccessKey, reqs[min(n, len(reqs)):])
}

// requestsSignedBy are the requests of reqs signed with key, but for health
// checks.
func requestsSignedBy(key string, reqs []registrytest.S3Request) []registrytest.S3Request {
	return slices.DeleteFunc(reqs, func(r registrytest.S3Request) bool { return r.AccessKey != key || isHealthCheck(r) })
}

// isHealthCheck: the registry's storage health check (every
// registryconfig.HealthInterval) stats "/", which s3-aws lists as the
// objects under the whole bucket (rootdirectory "/": prefix "").
func isHealthCheck(r registrytest.S3Request) bool {
	q, _ := url.ParseQuery(r.RawQuery)
	return s3Operation(r) == "ListObjects" && q.Get("prefix") == ""
}

// logS3Sequence logs the counts of reqs by operation and, in the order the
// stand-in received them, the requests other than parts, where runs of
// UploadPart and GetObject are folded into one entry with their count: the
// requests around a blob that wait their round trip one after the other.
func (b *bench) logS3Sequence(what string, reqs []registrytest.S3Request) S3Ops {
	ops := countS3Ops(reqs)
	var seq []string
	last, run := "", 0
	flush := func() {
		if run > 1 {
			seq = append(seq, fmt.Sprintf("%s ×%d", last, run))
		} else if run == 1 {
			seq = append(seq, last)
		}
	}
	for _, r := range reqs {
		op := s3Operation(r)
		if op == last && (op == "UploadPart" || op == "GetObject" || op == "UploadPartCopy") {
			run++
			continue
		}
		flush()
		last, run = op, 1
	}
	flush()
	b.logf("%s: %d S3 requests (%s); in order: %s", what, ops.Total(), ops, strings.Join(seq, ", "))
	return ops
}
