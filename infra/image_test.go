package infra

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/buildcontext"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synth"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// deployedCloud models what survives between two `pulumi up`s of one stack: the state of the
// image-tag random id and of the image, and the ECR repository's tags.
type deployedCloud struct {
	t *testing.T
	// randomKeepers/randomHex: the deployed RandomId. pulumi-random replaces a RandomId (a new
	// random value) whenever its keepers change ("Arbitrary map of values that, when changed,
	// will trigger recreation of resource", pulumi-random's random_id schema) and keeps it
	// otherwise.
	randomKeepers, randomHex string
	randomCount              int
	// imageInputs/imageOutputs: the deployed docker.Image.
	imageInputs  string
	imageOutputs resource.PropertyMap
	builds       int
	// tags: ECR's immutable tags, tag → digest.
	tags map[string]string
}

// randomID mocks random.RandomId with state.
func (c *deployedCloud) randomID(r *synth.MockResource) error {
	keepers, _ := json.Marshal(r.Inputs["keepers"].Mappable())
	if string(keepers) != c.randomKeepers || c.randomHex == "" {
		c.randomCount++
		sum := sha256.Sum256([]byte(fmt.Sprint("random", c.randomCount)))
		c.randomKeepers, c.randomHex = string(keepers), hex.EncodeToString(sum[:4])
	}
	r.Set("hex", c.randomHex)
	return nil
}

// providerContextDigest models pulumi-docker v4.10.0's Check (provider/provider.go, hashContext):
// the Dockerfile's contents, then every file of the context after .dockerignore with its
// relative name, its mode (fs.FileMode.String) and its contents.
func providerContextDigest(t *testing.T, context, dockerfile string) string {
	build, err := buildcontext.Load(context, dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	add := func(file, name, mode string) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		h.Write([]byte(name + mode))
		h.Write(sum[:])
		h.Write([]byte{0})
	}
	add(dockerfile, "Dockerfile", "----------")
	for _, f := range build.Files {
		add(filepath.Join(context, f.Rel), f.Rel, f.Mode.String())
	}
	return hex.EncodeToString(h.Sum(nil))
}

// image mocks docker.Image as pulumi-docker v4.10.0 behaves: Check adds build.contextDigest;
// Diff compares every input with the deployed ones except the registry's username and password
// (provider/provider.go, Diff and diffUpdates); any difference builds and pushes imageName, and
// ECR refuses a push to a tag that exists (immutable tags: ImageTagAlreadyExistsException,
// https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html).
func (c *deployedCloud) image(r *synth.MockResource) error {
	inputs := r.Inputs.Mappable()
	build, _ := inputs["build"].(map[string]any)
	build["contextDigest"] = providerContextDigest(c.t, build["context"].(string), build["dockerfile"].(string))
	if reg, ok := inputs["registry"].(map[string]any); ok {
		delete(reg, "username")
		delete(reg, "password")
	}
	key, _ := json.Marshal(inputs)
	if string(key) == c.imageInputs {
		r.Outputs = c.imageOutputs.Copy()
		r.ID = r.Outputs["repoDigest"].StringValue()
		return nil
	}
	name := r.In("imageName")
	repo, tag, _ := strings.Cut(name, ":")
	if strings.Contains(tag, "/") {
		c.t.Fatalf("image name %q: cannot split the tag", name)
	}
	if _, exists := c.tags[tag]; exists {
		return fmt.Errorf("ImageTagAlreadyExistsException: The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable", tag, repo)
	}
	c.builds++
	digest := builtDigest(build["contextDigest"].(string), build["platform"].(string))
	c.tags[tag] = digest
	ref := repo + "@sha256:" + digest
	r.ID = ref
	r.Set("repoDigest", ref)
	r.Set("imageName", name)
	c.imageInputs, c.imageOutputs = string(key), r.Outputs.Copy()
	return nil
}

// builtDigest is the digest of the image built from a context and platform (a deterministic
// build: the same sources give the same image).
func builtDigest(contextDigest, platform string) string {
	sum := sha256.Sum256([]byte(contextDigest + "\x00" + platform))
	return hex.EncodeToString(sum[:])
}

// copyProject copies what the program and the image build read into dir.
func copyProject(t *testing.T, from, to string) {
	t.Helper()
	for _, f := range []string{"Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", ".dockerignore", "go.mod", "go.sum"} {
		copyTestFile(t, filepath.Join(from, f), filepath.Join(to, f))
	}
	err := filepath.WalkDir(filepath.Join(from, "image"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		copyTestFile(t, p, filepath.Join(to, rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func copyTestFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(from)
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, info.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
}

// Day two of the image: every rebuild the provider does pushes a tag that does not exist yet, a
// change outside the image keeps tag and image, and the tasks always run the image built from the
// current sources. Without the random suffix keyed on the provider's inputs, the revert step
// fails with ImageTagAlreadyExistsException.
func TestImageUpdatesNeverPushAnExistingTag(t *testing.T) {
	cloud := &deployedCloud{t: t, tags: map[string]string{}}
	dirA, dirB := t.TempDir(), t.TempDir()
	copyProject(t, "..", dirA)
	entrypoint := filepath.Join("image", "entrypoint", "main.go")
	original, err := os.ReadFile(filepath.Join(dirA, entrypoint))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(dir, rel, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, rel), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var lastTag string
	up := func(step, dir string, overrides map[string]string, wantBuild bool) {
		t.Helper()
		cfg := loadStack(t, "dev", overrides)
		cfg.Dir = dir
		before := cloud.builds
		r, err := synthesize(t, cfg,
			synth.WithResourceMock("random:index/randomId:RandomId", cloud.randomID),
			synth.WithResourceMock(tImage, cloud.image))
		if err != nil {
			t.Fatalf("%s: pulumi up fails: %v", step, err)
		}
		if built := cloud.builds > before; built != wantBuild {
			t.Errorf("%s: rebuilt %v, want %v", step, built, wantBuild)
		}
		img := r.one(t, tImage, "registry")
		_, tag, _ := strings.Cut(img.InputString("imageName"), ":")
		if !wantBuild && tag != lastTag {
			t.Errorf("%s: tag %s, want the deployed %s (nothing in the image changed)", step, tag, lastTag)
		}
		lastTag = tag
		platform := img.InputString("build.platform")
		want := builtDigest(providerContextDigest(t, dir, filepath.Join(dir, "image", "Dockerfile")), platform)
		if got, _ := r.containers(t)[0]["image"].(string); !strings.HasSuffix(got, "@sha256:"+want) {
			t.Errorf("%s: tasks run %s, not the image built from the current sources (sha256:%s)", step, got, want)
		}
	}

	up("build A", dirA, nil, true)
	up("no change", dirA, nil, false)
	edit(dirA, filepath.Join("image", "README.md"), "a documentation edit\n")
	up("doc edit", dirA, nil, false)
	edit(dirA, entrypoint, string(original)+"\n// B\n")
	up("build B", dirA, nil, true)
	edit(dirA, entrypoint, string(original))
	up("revert to A", dirA, nil, true)
	up("architecture change", dirA, map[string]string{"architecture": "X86_64"}, true)
	copyProject(t, dirA, dirB)
	up("another checkout directory", dirB, map[string]string{"architecture": "X86_64"}, true)
	if err := os.Chmod(filepath.Join(dirB, entrypoint), 0o600); err != nil {
		t.Fatal(err)
	}
	up("file mode change", dirB, map[string]string{"architecture": "X86_64"}, true)
	up("no change again", dirB, map[string]string{"architecture": "X86_64"}, false)
	if cloud.builds != 6 || len(cloud.tags) != 6 {
		t.Errorf("%d builds pushed %d tags, want 6 and 6 (A, B, A again, x86, other directory, mode)", cloud.builds, len(cloud.tags))
	}
}

func TestImageRepositoryAndBuild(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		repo := r.one(t, tRepository, "registry")
		if v, _ := repo.Input("imageScanningConfiguration.scanOnPush"); v != true {
			t.Error("scan on push is off")
		}
		if repo.InputString("imageTagMutability") != "IMMUTABLE" {
			t.Errorf("tag mutability %q", repo.InputString("imageTagMutability"))
		}
		if repo.InputString("encryptionConfigurations[0].encryptionType") == "" {
			t.Error("no encryption configuration")
		}
		var lifecycle struct {
			Rules []struct {
				Selection struct {
					TagStatus   string
					CountType   string
					CountNumber int
				}
				Action struct{ Type string }
			}
		}
		if err := json.Unmarshal([]byte(r.one(t, tEcrLifecycle, "registry").InputString("policy")), &lifecycle); err != nil {
			t.Fatal(err)
		}
		rule := lifecycle.Rules[0]
		if strconv.Itoa(rule.Selection.CountNumber) != r.config("ecrKeepImages") || rule.Selection.CountType != "imageCountMoreThan" || rule.Action.Type != "expire" || rule.Selection.TagStatus != "any" {
			t.Errorf("ECR lifecycle %+v does not keep the last %s images", rule, r.config("ecrKeepImages"))
		}

		img := r.one(t, tImage, "registry")
		if got, want := img.InputString("build.platform"), "linux/arm64"; got != want {
			t.Errorf("image built for %q, want %q (the task's architecture)", got, want)
		}
		if !strings.HasSuffix(img.InputString("build.dockerfile"), "image/Dockerfile") {
			t.Errorf("Dockerfile %q", img.InputString("build.dockerfile"))
		}
		if !strings.HasPrefix(img.InputString("imageName"), "123456789012.dkr.ecr.us-east-1.amazonaws.com/") || !regexp.MustCompile(`:src-[0-9a-f]{12}-[0-9a-f]{8}$`).MatchString(img.InputString("imageName")) {
			t.Errorf("image name %q is not the ECR repository with a content tag", img.InputString("imageName"))
		}
		if img.InputString("registry.password") != secretPlaceholder {
			t.Error("the ECR password must stay secret")
		}
		image, _ := r.containers(t)[0]["image"].(string)
		if !regexp.MustCompile(`^[^@:]+(:[0-9]+)?/[^@]+@sha256:[0-9a-f]{64}$`).MatchString(image) {
			t.Errorf("task image %q is not pinned by digest", image)
		}
		if image != r.outputs["imageDigest"] {
			t.Errorf("imageDigest output %q, task runs %q", r.outputs["imageDigest"], image)
		}
	})
}

func TestImageFollowsArchitecture(t *testing.T) {
	r := withOverrides(t, "dev", map[string]string{"architecture": "X86_64"})
	if got := r.one(t, tImage, "registry").InputString("build.platform"); got != "linux/amd64" {
		t.Errorf("X86_64 image built for %q", got)
	}
	if got := r.one(t, tTaskDefinition, "registry").InputString("runtimePlatform.cpuArchitecture"); got != "X86_64" {
		t.Errorf("task architecture %q", got)
	}
}

func TestExistingImageReferenceSkipsTheBuild(t *testing.T) {
	ref := "111122223333.dkr.ecr.us-east-1.amazonaws.com/registry@sha256:" + strings.Repeat("ab", 32)
	r := withOverrides(t, "prod", map[string]string{"image": ref})
	if imgs := r.ByType(tImage); len(imgs) != 0 {
		t.Errorf("with image set nothing is built, got %d images", len(imgs))
	}
	if got := r.containers(t)[0]["image"]; got != ref {
		t.Errorf("task runs %v, want %s", got, ref)
	}
	doc := parsePolicy(t, "execution policy", r.one(t, tRolePolicy, "execution-policy").InputString("policy"))
	found := false
	for _, s := range doc.Statement {
		if slices.Contains(stringList(s.Action), "ecr:BatchGetImage") {
			found = slices.Equal(stringList(s.Resource), []string{"arn:aws:ecr:us-east-1:111122223333:repository/registry"})
		}
	}
	if !found {
		t.Errorf("execution role may not pull exactly the configured repository: %+v", doc)
	}
}
