package s3concurrent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/request"
	"github.com/aws/aws-sdk-go/service/s3"
)

// writer is one multipart upload. Write fills a part buffer of chunkSize and
// hands each full one to a goroutine that uploads it; at most partsInFlight
// run at once (Write waits for a slot), so an upload holds at most
// partsInFlight + 1 buffers. Close waits for them and uploads what is left
// as a last, shorter part, so the upload can be resumed from its parts;
// Commit completes it.
type writer struct {
	d        *driver
	ctx      context.Context
	key      string
	uploadID string
	// created is closed once a new upload exists, createErr is why it does
	// not (newUpload creates it in the background); nil for a resumed one.
	created   chan struct{}
	createErr error

	size     int64   // bytes accepted by Write (uploaded, uploading or buffered)
	next     int64   // number of the next part
	buf      *[]byte // the part being filled, nil until a Write needs it
	fill     int
	restart  bool // the listed parts cannot be appended to (see resume)
	slots    chan struct{}
	inFlight sync.WaitGroup

	mu    sync.Mutex
	parts []*s3.Part // uploaded, in any order
	err   error      // the first failed part's

	closed, committed, cancelled bool
}

// resume makes the writer of upload id at key with its listed parts. S3
// keeps every part uploaded, and parts upload concurrently, so a task
// stopped mid-upload can leave a hole (part n missing, n+1 there): only the
// parts before the first hole are the upload's bytes. Appending is
// possible after them unless parts lie beyond the hole (a later append
// could make them look contiguous) or the last part is under S3's 5 MiB
// minimum for parts that are not last; then the first Write restarts the
// upload on those bytes (restartUpload).
func (d *driver) resume(ctx context.Context, key, id string, listed []*s3.Part) *writer {
	slices.SortFunc(listed, func(a, b *s3.Part) int { return int(aws.Int64Value(a.PartNumber) - aws.Int64Value(b.PartNumber)) })
	w := &writer{d: d, ctx: ctx, key: key, uploadID: id, slots: make(chan struct{}, d.partsInFlight)}
	for i, p := range listed {
		if aws.Int64Value(p.PartNumber) != int64(i+1) {
			w.restart = true
			break
		}
		w.parts = append(w.parts, p)
		w.size += aws.Int64Value(p.Size)
	}
	if n := len(w.parts); n > 0 && aws.Int64Value(w.parts[n-1].Size) < minPartSize {
		w.restart = true
	}
	w.next = int64(len(w.parts)) + 1
	return w
}

func (w *writer) Size() int64 { return w.size }

func (w *writer) Write(p []byte) (int, error) {
	if err := w.usable(); err != nil {
		return 0, err
	}
	if w.restart && len(p) > 0 {
		if err := w.restartUpload(); err != nil {
			return 0, fmt.Errorf("%s: resuming %s: %w", DriverName, w.key, err)
		}
	}
	written := 0
	for len(p) > 0 {
		if err := w.failed(); err != nil {
			return written, err
		}
		if w.buf == nil {
			buf, err := w.firstBuffer()
			if err != nil {
				return written, err
			}
			w.buf, w.fill = buf, 0
		}
		n := copy((*w.buf)[w.fill:], p)
		w.fill += n
		w.size += int64(n)
		written += n
		p = p[n:]
		if w.fill < len(*w.buf) {
			continue
		}
		if len(*w.buf) < w.d.chunkSize {
			// The small first buffer is full: the blob is not small, move
			// to a part buffer.
			big, err := w.d.buffers.get(w.ctx)
			if err != nil {
				return written, err
			}
			copy(*big, (*w.buf)[:w.fill])
			w.buf = big
			continue
		}
		if err := w.send(); err != nil {
			return written, err
		}
	}
	return written, nil
}

// smallBlobBuffer is the buffer an upload's first bytes go to: most blobs
// (image configs, small layers) are far smaller than a part, and a part
// buffer for each would hold chunksize of memory per small upload in flight.
// A blob that outgrows it moves to a part buffer, at the cost of one copy of
// smallBlobBuffer bytes.
const smallBlobBuffer = 1 << 20

// firstBuffer is the buffer the next bytes go to: a small one for the first
// part of a new upload, a part buffer otherwise.
func (w *writer) firstBuffer() (*[]byte, error) {
	if w.next == 1 && w.size == 0 && smallBlobBuffer < w.d.chunkSize {
		b := make([]byte, smallBlobBuffer)
		return &b, nil
	}
	return w.d.buffers.get(w.ctx)
}

// ready waits until the upload exists.
func (w *writer) ready() error {
	if w.created == nil {
		return nil
	}
	<-w.created
	return w.createErr
}

// send uploads the buffer as the next part, in the background once a slot
// is free.
func (w *writer) send() error {
	if err := w.ready(); err != nil {
		w.dropBuffer()
		return err
	}
	if w.next > maxPartCount {
		return fmt.Errorf("%s: %s: more than S3's %d parts of %d bytes; raise chunksize", DriverName, w.key, maxPartCount, w.d.chunkSize)
	}
	buf, n, number := w.buf, w.fill, w.next
	w.buf, w.fill = nil, 0
	w.next++
	select {
	case w.slots <- struct{}{}:
	case <-w.ctx.Done():
		w.d.buffers.put(buf)
		return w.ctx.Err()
	}
	w.inFlight.Add(1)
	go func() {
		defer w.inFlight.Done()
		defer func() { <-w.slots }()
		defer w.d.buffers.put(buf)
		out, err := w.d.client.UploadPartWithContext(w.ctx, &s3.UploadPartInput{
			Bucket: aws.String(w.d.bucket), Key: aws.String(w.key), UploadId: aws.String(w.uploadID),
			PartNumber: aws.Int64(number), Body: bytes.NewReader((*buf)[:n]), ContentLength: aws.Int64(int64(n)),
		}, payloadHash((*buf)[:n]))
		w.mu.Lock()
		defer w.mu.Unlock()
		if err != nil {
			if w.err == nil {
				w.err = fmt.Errorf("%s: upload part %d of %s: %w", DriverName, number, w.key, err)
			}
			return
		}
		w.parts = append(w.parts, &s3.Part{ETag: out.ETag, PartNumber: aws.Int64(number), Size: aws.Int64(int64(n))})
	}()
	return nil
}

// payloadHash gives a request the SHA-256 of its body, which SigV4 signs and
// S3 checks the bytes against. The signer would hash the body itself, through
// io.CopyN and a fresh 32 KiB buffer per part: garbage that, at GOGC=100 and
// a heap of part buffers, the collector lets pile up for minutes (about 4 MiB
// over a 4 GiB layer's 128 parts; docs/performance.md, "Memory per upload").
func payloadHash(body []byte) request.Option {
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	return func(r *request.Request) { r.HTTPRequest.Header.Set("X-Amz-Content-Sha256", hash) }
}

func (w *writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// dropBuffer returns the buffer being filled, and what it holds is dropped.
func (w *writer) dropBuffer() {
	if w.buf != nil {
		w.d.buffers.put(w.buf)
	}
	w.buf, w.fill = nil, 0
}

// flush sends what is buffered as a part and waits for every part in flight
// (and for the upload to exist).
func (w *writer) flush() error {
	if err := w.ready(); err != nil {
		w.dropBuffer()
		return err
	}
	var err error
	if w.fill > 0 {
		err = w.send()
	} else {
		w.dropBuffer()
	}
	w.inFlight.Wait()
	return errors.Join(err, w.failed())
}

// Close uploads what is buffered and waits for every part: the upload can
// then be resumed, by this task or another.
func (w *writer) Close() error {
	if w.closed {
		return fmt.Errorf("already closed")
	}
	w.closed = true
	return w.flush()
}

// Cancel waits for the parts in flight and aborts the upload.
func (w *writer) Cancel(ctx context.Context) error {
	if err := w.usable(); err != nil {
		return err
	}
	w.cancelled = true
	if err := w.ready(); err != nil {
		return nil // no upload to abort
	}
	_ = w.flush()
	w.d.uploads.CompareAndDelete(w.key, w.uploadID)
	_, err := w.d.client.AbortMultipartUploadWithContext(ctx, &s3.AbortMultipartUploadInput{
		Bucket: aws.String(w.d.bucket), Key: aws.String(w.key), UploadId: aws.String(w.uploadID),
	})
	return err
}

// Commit uploads what is buffered and completes the upload: the object
// appears at the key.
func (w *writer) Commit(ctx context.Context) error {
	if err := w.usable(); err != nil {
		return err
	}
	if err := w.flush(); err != nil {
		return err
	}
	w.committed = true
	if len(w.parts) == 0 {
		// An empty blob: S3 completes no upload without a part.
		out, err := w.d.client.UploadPartWithContext(ctx, &s3.UploadPartInput{
			Bucket: aws.String(w.d.bucket), Key: aws.String(w.key), UploadId: aws.String(w.uploadID),
			PartNumber: aws.Int64(1), Body: bytes.NewReader(nil), ContentLength: aws.Int64(0),
		})
		if err != nil {
			return err
		}
		w.parts = []*s3.Part{{ETag: out.ETag, PartNumber: aws.Int64(1), Size: aws.Int64(0)}}
	}
	defer w.d.uploads.CompareAndDelete(w.key, w.uploadID)
	if err := w.complete(ctx); err != nil {
		_, aerr := w.d.client.AbortMultipartUploadWithContext(ctx, &s3.AbortMultipartUploadInput{
			Bucket: aws.String(w.d.bucket), Key: aws.String(w.key), UploadId: aws.String(w.uploadID),
		})
		return errors.Join(err, aerr)
	}
	w.d.memo.committed(ctx, w.key, w.size)
	return nil
}

// complete completes the upload with w.parts, in part order.
func (w *writer) complete(ctx context.Context) error {
	slices.SortFunc(w.parts, func(a, b *s3.Part) int { return int(aws.Int64Value(a.PartNumber) - aws.Int64Value(b.PartNumber)) })
	done := make([]*s3.CompletedPart, len(w.parts))
	for i, p := range w.parts {
		done[i] = &s3.CompletedPart{ETag: p.ETag, PartNumber: p.PartNumber}
	}
	_, err := w.d.client.CompleteMultipartUploadWithContext(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(w.d.bucket), Key: aws.String(w.key), UploadId: aws.String(w.uploadID),
		MultipartUpload: &s3.CompletedMultipartUpload{Parts: done},
	})
	return err
}

// restartCopySize is the range each part of a restarted upload copies, within
// S3's 5 GiB per part: 100 GiB restart in 100 server-side copies.
const restartCopySize = 1 << 30

// restartUpload turns the upload's contiguous parts into an object (completing
// the upload, which drops every other part), starts a new upload at the key
// and copies that object into it server-side, in ranges of
// restartCopySize; a tail under 5 MiB is read back into the part buffer
// instead, to be sent with what follows.
func (w *writer) restartUpload() error {
	w.restart = false
	w.d.uploads.CompareAndDelete(w.key, w.uploadID)
	if len(w.parts) == 0 {
		// Nothing before the hole: start from nothing on a clean upload.
		_, _ = w.d.client.AbortMultipartUploadWithContext(w.ctx, &s3.AbortMultipartUploadInput{
			Bucket: aws.String(w.d.bucket), Key: aws.String(w.key), UploadId: aws.String(w.uploadID),
		})
		id, err := w.d.createUpload(w.ctx, w.key)
		w.uploadID, w.next = id, 1
		return err
	}
	if err := w.complete(w.ctx); err != nil {
		return err
	}
	id, err := w.d.createUpload(w.ctx, w.key)
	if err != nil {
		return err
	}
	w.uploadID, w.parts, w.next = id, nil, 1
	source := aws.String(w.d.bucket + "/" + w.key)
	for off := int64(0); off < w.size; off += restartCopySize {
		end := min(off+restartCopySize, w.size)
		if end-off < minPartSize {
			return w.readTail(off)
		}
		out, err := w.d.client.UploadPartCopyWithContext(w.ctx, &s3.UploadPartCopyInput{
			Bucket: aws.String(w.d.bucket), Key: aws.String(w.key), UploadId: aws.String(id),
			PartNumber: aws.Int64(w.next), CopySource: source,
			CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", off, end-1)),
		})
		if err != nil {
			return err
		}
		w.parts = append(w.parts, &s3.Part{ETag: out.CopyPartResult.ETag, PartNumber: aws.Int64(w.next), Size: aws.Int64(end - off)})
		w.next++
	}
	return nil
}

// readTail reads the object's bytes from off (under 5 MiB) into the part
// buffer.
func (w *writer) readTail(off int64) error {
	out, err := w.d.client.GetObjectWithContext(w.ctx, &s3.GetObjectInput{
		Bucket: aws.String(w.d.bucket), Key: aws.String(w.key), Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, w.size-1)),
	})
	if err != nil {
		return err
	}
	defer out.Body.Close()
	if w.buf, err = w.d.buffers.get(w.ctx); err != nil {
		return err
	}
	n, err := io.ReadFull(out.Body, (*w.buf)[:w.size-off])
	w.fill = n
	return err
}

func (w *writer) usable() error {
	switch {
	case w.closed:
		return fmt.Errorf("already closed")
	case w.committed:
		return fmt.Errorf("already committed")
	case w.cancelled:
		return fmt.Errorf("already cancelled")
	}
	return nil
}
