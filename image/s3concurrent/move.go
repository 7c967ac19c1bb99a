package s3concurrent

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/s3"
)

// Move copies the object at source to dest server-side and deletes source,
// as s3-aws's Move does (one CopyObject up to multipartcopythresholdsize,
// else a multipart copy of multipartcopychunksize parts,
// multipartcopymaxconcurrency at once), but deletes the source with one
// DeleteObject: s3-aws's Delete first lists the source's prefix (a path may
// be a directory), a round trip the registry waits for on every blob it
// moves into place. A directory is moved by s3-aws's Move.
func (d *driver) Move(ctx context.Context, source, dest string) error {
	fi, err := d.Stat(ctx, source)
	if err != nil {
		return err
	}
	from, to := d.S3BucketKey(source), d.S3BucketKey(dest)
	d.memo.forget(from, true)
	d.memo.forget(to, true)
	if fi.IsDir() {
		return d.Driver.Move(ctx, source, dest)
	}
	if err := d.copyObject(ctx, from, to, fi.Size()); err != nil {
		return parseError(source, err)
	}
	_, err = d.client.DeleteObjectWithContext(ctx, &s3.DeleteObjectInput{Bucket: aws.String(d.bucket), Key: aws.String(from)})
	return parseError(source, err)
}

func (d *driver) copyObject(ctx context.Context, from, to string, size int64) error {
	source := aws.String(d.bucket + "/" + from)
	if size <= d.copyThreshold {
		_, err := d.client.CopyObjectWithContext(ctx, &s3.CopyObjectInput{
			Bucket: aws.String(d.bucket), Key: aws.String(to), CopySource: source,
			ContentType: d.create.ContentType, ACL: d.create.ACL, ServerSideEncryption: d.create.ServerSideEncryption,
			SSEKMSKeyId: d.create.SSEKMSKeyId, StorageClass: d.create.StorageClass,
		})
		return err
	}
	id, err := d.createUpload(ctx, to)
	if err != nil {
		return err
	}
	d.uploads.CompareAndDelete(to, id) // not resumable: it completes or is aborted here
	n := (size + d.copyChunk - 1) / d.copyChunk
	if n > maxPartCount {
		return fmt.Errorf("%s: copying %s: more than S3's %d parts of %d bytes; raise multipartcopychunksize", DriverName, from, maxPartCount, d.copyChunk)
	}
	done := make([]*s3.CompletedPart, n)
	errs := make([]error, n)
	slots := make(chan struct{}, d.copyInFlight)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			first := i * d.copyChunk
			last := min(first+d.copyChunk, size) - 1
			out, err := d.client.UploadPartCopyWithContext(ctx, &s3.UploadPartCopyInput{
				Bucket: aws.String(d.bucket), Key: aws.String(to), UploadId: aws.String(id), PartNumber: aws.Int64(i + 1),
				CopySource: source, CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", first, last)),
			})
			if err != nil {
				errs[i] = err
				return
			}
			done[i] = &s3.CompletedPart{ETag: out.CopyPartResult.ETag, PartNumber: aws.Int64(i + 1)}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			_, _ = d.client.AbortMultipartUploadWithContext(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(d.bucket), Key: aws.String(to), UploadId: aws.String(id)})
			return err
		}
	}
	_, err = d.client.CompleteMultipartUploadWithContext(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(d.bucket), Key: aws.String(to), UploadId: aws.String(id),
		MultipartUpload: &s3.CompletedMultipartUpload{Parts: done},
	})
	return err
}
