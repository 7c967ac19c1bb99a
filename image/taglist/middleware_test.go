package taglist_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/distribution/distribution/v3"
	repositorymiddleware "github.com/distribution/distribution/v3/registry/middleware/repository"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/taglist"
)

// s3Order is how the registry's storage lists these tags from S3: by key, where "1.0/" comes
// before "1/" because '.' sorts below '/'.
var s3Order = []string{"0.1.2", "0.1.20", "1.0", "1", "10", "v1-rc", "v1.2", "v1", "v10", "v1_x"}

type tags struct {
	distribution.TagService
	all []string
	err error
}

func (t *tags) All(context.Context) ([]string, error) { return slices.Clone(t.all), t.err }

type repository struct {
	distribution.Repository
	tags *tags
}

func (r *repository) Tags(context.Context) distribution.TagService { return r.tags }

// tagService is the TagService the registry gets for a repository whose storage lists all.
func tagService(t *testing.T, all []string, err error) distribution.TagService {
	t.Helper()
	repo, e := repositorymiddleware.Get(context.Background(), taglist.Name, nil, &repository{tags: &tags{all: all, err: err}})
	if e != nil {
		t.Fatalf("the registry cannot build the %s middleware: %v", taglist.Name, e)
	}
	return repo.Tags(context.Background())
}

// Paged by every page size, as the registry's Link headers page them (the next page after the
// last tag of this one), the pages list each tag once, in name order, and the page that reaches
// the end says so (io.EOF), so that no empty page is linked after it.
func TestEveryPageSizeListsEveryTagOnceInOrder(t *testing.T) {
	want := slices.Sorted(slices.Values(s3Order))
	ts := tagService(t, s3Order, nil)
	for n := 1; n <= len(want)+1; n++ {
		var got []string
		last := ""
		for pages := 1; ; pages++ {
			page, err := ts.List(context.Background(), n, last)
			if err != nil && err != io.EOF {
				t.Fatalf("n=%d last=%q: %v", n, last, err)
			}
			if len(page) > n || (err == nil && len(page) < n) {
				t.Fatalf("n=%d last=%q: page %v with error %v; want n tags unless the page ends the listing", n, last, page, err)
			}
			got = append(got, page...)
			if err == io.EOF {
				break
			}
			if pages > len(want) {
				t.Fatalf("n=%d: still no end after %d pages: %v", n, pages, got)
			}
			last = page[len(page)-1]
		}
		if !slices.Equal(got, want) {
			t.Errorf("n=%d: pages list %v, want %v", n, got, want)
		}
	}

	all, err := ts.List(context.Background(), -1, "")
	if err != io.EOF || !slices.Equal(all, want) {
		t.Errorf("List(-1, \"\") = %v, %v; want every tag in order and io.EOF", all, err)
	}
	after, err := ts.List(context.Background(), -1, "1.5")
	if err != io.EOF || !slices.Equal(after, []string{"10", "v1", "v1-rc", "v1.2", "v10", "v1_x"}) {
		t.Errorf("List(-1, \"1.5\"), a marker that is no tag: %v, %v; want the tags after it", after, err)
	}
	if end, err := ts.List(context.Background(), 3, "v1_x"); err != io.EOF || len(end) != 0 {
		t.Errorf("List(3, last tag) = %v, %v; want no tags and io.EOF", end, err)
	}
}

// What the registry's storage says goes through: an unknown repository stays unknown (the
// registry answers NAME_UNKNOWN), and a listing of no tags is refused as the storage refuses it.
func TestListKeepsTheStoragesAnswers(t *testing.T) {
	unknown := distribution.ErrRepositoryUnknown{Name: "syn123/none"}
	if _, err := tagService(t, nil, unknown).List(context.Background(), 10, ""); !errors.As(err, new(distribution.ErrRepositoryUnknown)) {
		t.Errorf("List of an unknown repository: %v, want %v", err, unknown)
	}
	if _, err := tagService(t, s3Order, nil).List(context.Background(), 0, ""); err == nil || err == io.EOF {
		t.Errorf("List with limit 0: %v, want an error", err)
	}
}
