package registrytest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/s3"
)

// s3Client is the AWS SDK the registry's S3 driver uses, pointed at s.
func s3Client(t *testing.T, s *S3) *s3.S3 {
	t.Helper()
	cfg := aws.NewConfig().WithRegion("us-east-1").WithEndpoint(s.URL).WithS3ForcePathStyle(true).
		WithCredentials(credentials.NewStaticCredentials("registrytest", "registrytest", "")).
		WithMaxRetries(0)
	sess, err := session.NewSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// After the session: it would trust AWS_CA_BUNDLE instead.
	sess.Config.HTTPClient = &http.Client{Transport: Transport(s.Certificate)}
	return s3.New(sess)
}

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	var key [32]byte
	key[0] = byte(seed)
	rand.NewChaCha8(key).Read(b)
	return b
}

func getObject(t *testing.T, c *s3.S3, key string, rng string) []byte {
	t.Helper()
	in := &s3.GetObjectInput{Bucket: aws.String(Bucket), Key: aws.String(key)}
	if rng != "" {
		in.Range = aws.String(rng)
	}
	out, err := c.GetObject(in)
	if err != nil {
		t.Fatalf("get %s %s: %v", key, rng, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestS3StandIn(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) {
			t.Parallel()
			s := StartS3With(t, S3Options{TLS: useTLS})
			c := s3Client(t, s)
			put := func(key string, body []byte) {
				t.Helper()
				if _, err := c.PutObject(&s3.PutObjectInput{Bucket: aws.String(Bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
					t.Fatalf("put %s: %v", key, err)
				}
			}

			put("a/b/one", []byte("hello"))
			if got := getObject(t, c, "a/b/one", ""); string(got) != "hello" {
				t.Errorf("get = %q", got)
			}
			if got := getObject(t, c, "a/b/one", "bytes=1-3"); string(got) != "ell" {
				t.Errorf("ranged get = %q", got)
			}
			head, err := c.HeadObject(&s3.HeadObjectInput{Bucket: aws.String(Bucket), Key: aws.String("a/b/one")})
			if err != nil || aws.Int64Value(head.ContentLength) != 5 {
				t.Errorf("head: %v %v", head, err)
			}

			// Listing: delimiter, then pages of two keys.
			put("a/b/two", []byte("2"))
			put("a/c/three", []byte("3"))
			put("d", []byte("4"))
			ls, err := c.ListObjectsV2(&s3.ListObjectsV2Input{Bucket: aws.String(Bucket), Prefix: aws.String("a/"), Delimiter: aws.String("/")})
			if err != nil {
				t.Fatal(err)
			}
			var prefixes []string
			for _, p := range ls.CommonPrefixes {
				prefixes = append(prefixes, aws.StringValue(p.Prefix))
			}
			if !slices.Equal(prefixes, []string{"a/b/", "a/c/"}) || len(ls.Contents) != 0 {
				t.Errorf("list a/ with delimiter: prefixes %v, %d objects", prefixes, len(ls.Contents))
			}
			var keys []string
			var sizes []int64
			err = c.ListObjectsV2Pages(&s3.ListObjectsV2Input{Bucket: aws.String(Bucket), MaxKeys: aws.Int64(2)}, func(p *s3.ListObjectsV2Output, last bool) bool {
				for _, o := range p.Contents {
					keys = append(keys, aws.StringValue(o.Key))
					sizes = append(sizes, aws.Int64Value(o.Size))
				}
				return true
			})
			if err != nil || !slices.Equal(keys, []string{"a/b/one", "a/b/two", "a/c/three", "d"}) || !slices.Equal(sizes, []int64{5, 1, 1, 1}) {
				t.Errorf("paged list: %v %v %v", keys, sizes, err)
			}

			// Copy and delete.
			if _, err := c.CopyObject(&s3.CopyObjectInput{Bucket: aws.String(Bucket), Key: aws.String("e/copy"), CopySource: aws.String(Bucket + "/a/b/one")}); err != nil {
				t.Fatal(err)
			}
			if got := getObject(t, c, "e/copy", ""); string(got) != "hello" {
				t.Errorf("copy = %q", got)
			}
			if _, err := c.DeleteObjects(&s3.DeleteObjectsInput{Bucket: aws.String(Bucket), Delete: &s3.Delete{Objects: []*s3.ObjectIdentifier{{Key: aws.String("a/b/two")}, {Key: aws.String("d")}}}}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.DeleteObject(&s3.DeleteObjectInput{Bucket: aws.String(Bucket), Key: aws.String("a/c/three")}); err != nil {
				t.Fatal(err)
			}
			if got := s.Keys(t); !slices.Equal(got, []string{"a/b/one", "e/copy"}) {
				t.Errorf("keys after deletes: %v", got)
			}

			if useTLS {
				// HTTP/1.1 only, like S3, even to a client that would use HTTP/2.
				resp, err := (&http.Client{Transport: Transport(s.Certificate)}).Get(s.ObjectURL("a/b/one"))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.ProtoMajor != 1 {
					t.Errorf("S3 stand-in answered over %s", resp.Proto)
				}
			}
		})
	}
}

// Multipart uploads, including UploadPartCopy with and without a range (the
// registry moves uploads above 128 MiB into place with it), and S3's rule
// that every part but the last is at least 5 MiB.
func TestS3MultipartAndUploadPartCopy(t *testing.T) {
	t.Parallel()
	s := StartS3(t, "")
	c := s3Client(t, s)
	const mib = 1 << 20
	data := randomBytes(12*mib, 1)

	create := func(key string) *string {
		t.Helper()
		out, err := c.CreateMultipartUpload(&s3.CreateMultipartUploadInput{Bucket: aws.String(Bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		return out.UploadId
	}
	complete := func(key string, id *string, etags ...*string) error {
		var parts []*s3.CompletedPart
		for i, e := range etags {
			parts = append(parts, &s3.CompletedPart{ETag: e, PartNumber: aws.Int64(int64(i + 1))})
		}
		_, err := c.CompleteMultipartUpload(&s3.CompleteMultipartUploadInput{
			Bucket: aws.String(Bucket), Key: aws.String(key), UploadId: id,
			MultipartUpload: &s3.CompletedMultipartUpload{Parts: parts},
		})
		return err
	}
	upload := func(key string, id *string, n int64, body []byte) *string {
		t.Helper()
		out, err := c.UploadPart(&s3.UploadPartInput{Bucket: aws.String(Bucket), Key: aws.String(key), UploadId: id, PartNumber: aws.Int64(n), Body: bytes.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		return out.ETag
	}
	copyPart := func(key string, id *string, n int64, src, rng string) (*string, error) {
		in := &s3.UploadPartCopyInput{Bucket: aws.String(Bucket), Key: aws.String(key), UploadId: id, PartNumber: aws.Int64(n), CopySource: aws.String(Bucket + "/" + src)}
		if rng != "" {
			in.CopySourceRange = aws.String(rng)
		}
		out, err := c.UploadPartCopy(in)
		if err != nil {
			return nil, err
		}
		if out.CopyPartResult == nil || aws.StringValue(out.CopyPartResult.ETag) == "" || out.CopyPartResult.LastModified == nil {
			return nil, fmt.Errorf("CopyPartResult without ETag or LastModified: %v", out)
		}
		return out.CopyPartResult.ETag, nil
	}

	// Upload "src" in two parts; the upload is listed with its parts.
	id := create("src")
	e1 := upload("src", id, 1, data[:6*mib])
	e2 := upload("src", id, 2, data[6*mib:])
	ups, err := c.ListMultipartUploads(&s3.ListMultipartUploadsInput{Bucket: aws.String(Bucket), Prefix: aws.String("src")})
	if err != nil || len(ups.Uploads) != 1 || aws.StringValue(ups.Uploads[0].UploadId) != aws.StringValue(id) {
		t.Fatalf("list uploads: %v %v", ups, err)
	}
	parts, err := c.ListParts(&s3.ListPartsInput{Bucket: aws.String(Bucket), Key: aws.String("src"), UploadId: id})
	if err != nil || len(parts.Parts) != 2 || aws.Int64Value(parts.Parts[1].Size) != 6*mib || aws.StringValue(parts.Parts[0].ETag) != aws.StringValue(e1) {
		t.Fatalf("list parts: %v %v", parts, err)
	}
	if err := complete("src", id, e1, e2); err != nil {
		t.Fatal(err)
	}
	if got := getObject(t, c, "src", ""); !bytes.Equal(got, data) {
		t.Fatalf("completed object differs (%d bytes)", len(got))
	}

	// Copy it in three ranges, as the registry's multipart copy does.
	id = create("dst")
	var etags []*string
	for i, r := range [][2]int{{0, 5 * mib}, {5 * mib, 10 * mib}, {10 * mib, 12 * mib}} {
		e, err := copyPart("dst", id, int64(i+1), "src", fmt.Sprintf("bytes=%d-%d", r[0], r[1]-1))
		if err != nil {
			t.Fatalf("upload part copy %d: %v", i+1, err)
		}
		etags = append(etags, e)
	}
	if err := complete("dst", id, etags...); err != nil {
		t.Fatal(err)
	}
	if got := getObject(t, c, "dst", ""); !bytes.Equal(got, data) {
		t.Fatal("object assembled by UploadPartCopy differs from its source")
	}
	// The copy shares the source's memory instead of duplicating it.
	s.store.mu.RLock()
	src, dst := s.store.buckets[Bucket].objects["src"], s.store.buckets[Bucket].objects["dst"]
	s.store.mu.RUnlock()
	if &src.data[0][0] != &dst.data[0][0] {
		t.Error("UploadPartCopy copied the bytes instead of sharing them")
	}

	// Without a range, the part is the whole source.
	id = create("whole")
	e, err := copyPart("whole", id, 1, "src", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := complete("whole", id, e); err != nil {
		t.Fatal(err)
	}
	if got := getObject(t, c, "whole", ""); !bytes.Equal(got, data) {
		t.Fatal("whole-object part copy differs")
	}

	// Refusals: a missing source, a small part that is not the last.
	id = create("bad")
	var ae awserr.RequestFailure
	if _, err := copyPart("bad", id, 1, "missing", ""); !errors.As(err, &ae) || ae.StatusCode() != http.StatusNotFound || ae.Code() != "NoSuchKey" {
		t.Errorf("copy from a missing key: %v", err)
	}
	small1 := upload("bad", id, 1, data[:mib])
	small2 := upload("bad", id, 2, data[:mib])
	if err := complete("bad", id, small1, small2); err == nil {
		t.Error("completing with a 1 MiB part before the last succeeded; S3 refuses it")
	}
}
