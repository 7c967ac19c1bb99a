package image_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// fromLine is a FROM instruction: optional --platform, the image, optional AS name.
var fromLine = regexp.MustCompile(`^FROM (?:--platform=\S+ )?(\S+)(?: AS (\S+))?$`)

// pinnedImage is name:tag@sha256:<digest>: the tag says what it is, the digest fixes what
// is built (a tag can be pushed again). Dependabot's docker updater moves both.
var pinnedImage = regexp.MustCompile(`^[a-z0-9./-]+:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$`)

// unpinnedBaseImages returns, for each FROM of the stages that names an image (not an
// earlier stage, not scratch), a problem if it is not pinned by tag and digest.
func unpinnedBaseImages(stages [][]string) []string {
	var problems []string
	named := map[string]bool{}
	for _, s := range stages {
		if !strings.HasPrefix(s[0], "FROM ") {
			continue
		}
		m := fromLine.FindStringSubmatch(s[0])
		if m == nil {
			problems = append(problems, fmt.Sprintf("%q: not a FROM this test understands", s[0]))
			continue
		}
		image, stage := m[1], m[2]
		if !named[image] && image != "scratch" && !pinnedImage.MatchString(image) {
			problems = append(problems, fmt.Sprintf("%q: pin the base image by tag and the digest of its multi-platform index, <name>:<tag>@sha256:<digest> (docker buildx imagetools inspect <name>:<tag> prints the digest)", s[0]))
		}
		if stage != "" {
			named[stage] = true
		}
	}
	return problems
}

func TestBaseImagesArePinnedByDigest(t *testing.T) {
	stages := dockerfile(t)
	froms := 0
	for _, s := range stages {
		if strings.HasPrefix(s[0], "FROM ") {
			froms++
		}
	}
	if froms < 2 {
		t.Fatalf("found %d FROM lines in image/Dockerfile; the parser is probably broken", froms)
	}
	for _, p := range unpinnedBaseImages(stages) {
		t.Error("image/Dockerfile: " + p)
	}
}

// The checker must catch what it is for.
func TestUnpinnedBaseImagesAreCaught(t *testing.T) {
	digest := strings.Repeat("ab", 32)
	stages := [][]string{
		{"FROM --platform=$BUILDPLATFORM golang:1.26.8-alpine AS build"},
		{"FROM golang:1.26.8-alpine@sha256:" + digest + " AS pinned"},
		{"FROM build AS again"},
		{"FROM scratch"},
		{"FROM registry:3.1.1"},
		{"FROM registry@sha256:" + digest},
		{"FROM registry:3.1.1@sha256:" + digest},
	}
	got := unpinnedBaseImages(stages)
	if len(got) != 3 || !strings.Contains(got[0], "golang:1.26.8-alpine AS build") || !strings.Contains(got[1], `"FROM registry:3.1.1"`) || !strings.Contains(got[2], "registry@sha256") {
		t.Errorf("problems = %q, want the unpinned golang, the unpinned registry and the tagless registry", got)
	}
}

// The Go image's release must be at least go.mod's go line: an older one would download
// another toolchain during the build (or fail with GOTOOLCHAIN=local).
func TestGoImageIsAtLeastGoModVersion(t *testing.T) {
	gomod, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`(?m)^go (\d+)\.(\d+)\.(\d+)$`).FindStringSubmatch(string(gomod))
	if want == nil {
		t.Fatal("go.mod has no go x.y.z line")
	}
	var image []string
	for _, s := range dockerfile(t) {
		if m := regexp.MustCompile(`\bgolang:(\d+)\.(\d+)(?:\.(\d+))?-`).FindStringSubmatch(s[0]); m != nil {
			image = m
		}
	}
	if image == nil {
		t.Fatal("no golang:<version>-... FROM line in image/Dockerfile")
	}
	if image[3] == "" {
		t.Fatalf("golang:%s.%s: name the Go release (golang:x.y.z-alpine), so that the tag says which compiler the digest holds", image[1], image[2])
	}
	if versionLess(image[1:4], want[1:4]) {
		t.Errorf("image/Dockerfile builds with golang:%s, older than go.mod's go %s: move the FROM line (tag and digest) to golang:%s-alpine or newer",
			strings.Join(image[1:4], "."), strings.Join(want[1:4], "."), strings.Join(want[1:4], "."))
	}
}

func versionLess(a, b []string) bool {
	for i := range a {
		var x, y int
		fmt.Sscan(a[i], &x)
		fmt.Sscan(b[i], &y)
		if x != y {
			return x < y
		}
	}
	return false
}
