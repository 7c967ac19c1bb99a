// Package taglist is the repository middleware that pages GET /v2/<name>/tags/list in the order
// of its own page marker. Registry 3.1.2 pages a listing by walking the tags in S3's key order
// and then keeps only tags after the marker (`last`) in name order. The two orders disagree for
// a tag that is another's name followed by '.' or '-' ("1" and "1.0", "v1" and "v1-rc"): S3
// lists "1.0/" before "1/" ('.' sorts below '/'), the marker puts "1" first. A page boundary
// between them repeats one tag or leaves one out. Here every page is cut from the repository's
// whole listing sorted by name, so the pages follow the marker's order and together list each
// tag once.
package taglist

import (
	"context"
	"errors"
	"io"
	"slices"

	"github.com/distribution/distribution/v3"
	repositorymiddleware "github.com/distribution/distribution/v3/registry/middleware/repository"
	"github.com/sirupsen/logrus"
)

// Name is the repository middleware's name in the registry configuration
// (middleware: repository: - name: taglist).
const Name = "taglist"

func init() {
	if err := repositorymiddleware.Register(Name, newRepository); err != nil {
		logrus.Errorf("registering the %s repository middleware: %v", Name, err)
	}
}

func newRepository(_ context.Context, repo distribution.Repository, _ map[string]any) (distribution.Repository, error) {
	return &repository{Repository: repo}, nil
}

type repository struct{ distribution.Repository }

func (r *repository) Tags(ctx context.Context) distribution.TagService {
	return &tagService{TagService: r.Repository.Tags(ctx)}
}

type tagService struct{ distribution.TagService }

// List returns the first limit tags after last in name order (every one when limit < 0), with
// io.EOF when the page reaches the end, so that the registry links no empty page after it. Each
// page is cut from All, the storage's listing of the tags directory (for S3 one ListObjectsV2 per
// 1,000 tags); image/README.md, "Tag listings", has what that costs.
func (t *tagService) List(ctx context.Context, limit int, last string) ([]string, error) {
	if limit == 0 {
		return nil, errors.New("attempted to list 0 tags")
	}
	tags, err := t.TagService.All(ctx)
	if err != nil {
		return nil, err
	}
	// The storage's All sorts, but TagService does not promise it, and the search needs it.
	slices.Sort(tags)
	first, found := slices.BinarySearch(tags, last)
	if found {
		first++
	}
	tags = tags[first:]
	if limit > 0 && len(tags) > limit {
		return tags[:limit], nil
	}
	return tags, io.EOF
}
