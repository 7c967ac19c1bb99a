package infra

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// RegistryImage is the container image the task runs, always by digest.
type RegistryImage struct {
	RepositoryURL pulumi.StringOutput
	RepositoryArn pulumi.StringOutput
	// DigestReference is repository@sha256:…, never a tag, so every task of a deployment runs the
	// same bytes and a rollback means exactly the previous image.
	DigestReference pulumi.StringOutput
	// PullRepositoryArns are the ECR repositories the execution role may pull from.
	PullRepositoryArns []pulumi.StringOutput
}

// imageBuildInputs are the files, relative to the project root, that the Docker build reads
// (the build context is the project root, filtered by .dockerignore).
var imageBuildInputs = []string{".dockerignore", "go.mod", "go.sum", "image"}

type ecrLifecyclePolicy struct {
	Rules []ecrLifecycleRule `json:"rules"`
}

type ecrLifecycleRule struct {
	RulePriority int                   `json:"rulePriority"`
	Description  string                `json:"description"`
	Selection    ecrLifecycleSelection `json:"selection"`
	Action       ecrLifecycleAction    `json:"action"`
}

type ecrLifecycleSelection struct {
	TagStatus   string `json:"tagStatus"`
	CountType   string `json:"countType"`
	CountNumber int    `json:"countNumber"`
}

type ecrLifecycleAction struct {
	Type string `json:"type"`
}

func newRegistryImage(s *scope) (*RegistryImage, error) {
	repo, err := ecr.NewRepository(s.ctx, "registry", &ecr.RepositoryArgs{
		ImageTagMutability: pulumi.String("IMMUTABLE"),
		ImageScanningConfiguration: &ecr.RepositoryImageScanningConfigurationArgs{
			ScanOnPush: pulumi.Bool(true),
		},
		EncryptionConfigurations: ecr.RepositoryEncryptionConfigurationArray{
			&ecr.RepositoryEncryptionConfigurationArgs{EncryptionType: pulumi.String("KMS")},
		},
	}, s.opts()...)
	if err != nil {
		return nil, err
	}
	lifecycle, err := json.Marshal(ecrLifecyclePolicy{Rules: []ecrLifecycleRule{{
		RulePriority: 1,
		Description:  fmt.Sprintf("keep the last %d images", s.cfg.Image.KeepImages),
		Selection:    ecrLifecycleSelection{TagStatus: "any", CountType: "imageCountMoreThan", CountNumber: s.cfg.Image.KeepImages},
		Action:       ecrLifecycleAction{Type: "expire"},
	}}})
	if err != nil {
		return nil, err
	}
	if _, err := ecr.NewLifecyclePolicy(s.ctx, "registry", &ecr.LifecyclePolicyArgs{
		Repository: repo.Name,
		Policy:     pulumi.String(string(lifecycle)),
	}, s.opts()...); err != nil {
		return nil, err
	}

	out := &RegistryImage{RepositoryURL: repo.RepositoryUrl, RepositoryArn: repo.Arn}
	if ref := s.cfg.Image.Reference; ref != "" {
		out.DigestReference = pulumi.String(ref).ToStringOutput()
		if arn, ok := ecrRepositoryArn(ref); ok {
			out.PullRepositoryArns = []pulumi.StringOutput{pulumi.String(arn).ToStringOutput()}
		}
		return out, nil
	}

	root, err := projectRoot(s.ctx)
	if err != nil {
		return nil, err
	}
	// ECR tags are immutable, so the tag names the build inputs: the same sources keep the same
	// tag (no rebuild, no push), changed sources get a new one.
	tag, err := contentTag(root, imageBuildInputs)
	if err != nil {
		return nil, err
	}
	auth := ecr.GetAuthorizationTokenOutput(s.ctx, ecr.GetAuthorizationTokenOutputArgs{RegistryId: repo.RegistryId}, s.invokeOpts()...)
	image, err := docker.NewImage(s.ctx, "registry", &docker.ImageArgs{
		ImageName: pulumi.Sprintf("%s:%s", repo.RepositoryUrl, tag),
		Build: &docker.DockerBuildArgs{
			Context:        pulumi.String(root),
			Dockerfile:     pulumi.String(filepath.Join(root, "image", "Dockerfile")),
			Platform:       pulumi.String(s.cfg.Service.Architecture.DockerPlatform()),
			BuilderVersion: docker.BuilderVersionBuilderBuildKit,
		},
		Registry: &docker.RegistryArgs{
			Server:   repo.RepositoryUrl,
			Username: auth.UserName(),
			Password: pulumi.ToSecret(auth.Password()).(pulumi.StringOutput),
		},
	}, s.opts()...)
	if err != nil {
		return nil, err
	}
	out.DigestReference = image.RepoDigest
	out.PullRepositoryArns = []pulumi.StringOutput{repo.Arn}
	return out, nil
}

var ecrReference = regexp.MustCompile(`^([0-9]{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^@:]+)@`)

// ecrRepositoryArn returns the repository ARN of an ECR image reference, so the execution role can
// be granted exactly that repository.
func ecrRepositoryArn(ref string) (string, bool) {
	m := ecrReference.FindStringSubmatch(ref)
	if m == nil {
		return "", false
	}
	return fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", m[2], m[1], m[3]), true
}

// projectRoot is the directory holding Pulumi.yaml: the engine passes it; tests and synth may run
// from a subdirectory, so fall back to searching upwards.
func projectRoot(ctx *pulumi.Context) (string, error) {
	if dir := ctx.RootDirectory(); dir != "" {
		return dir, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "Pulumi.yaml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("cannot find Pulumi.yaml above the working directory; run from the project")
		}
		dir = parent
	}
}

// contentTag hashes the paths and contents of the build inputs, in a stable order.
func contentTag(root string, inputs []string) (string, error) {
	var files []string
	for _, in := range inputs {
		err := filepath.WalkDir(filepath.Join(root, in), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			// Mirror .dockerignore: tests and their data are not part of the image.
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if !d.IsDir() && !strings.HasSuffix(path, "_test.go") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("image build input %s: %w", in, err)
		}
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		rel, _ := filepath.Rel(root, f)
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(rel), len(b))
		h.Write(b)
	}
	return "src-" + strings.ToLower(hex.EncodeToString(h.Sum(nil))[:16]), nil
}
