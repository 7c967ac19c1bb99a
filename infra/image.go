package infra

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/buildcontext"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
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
	repo, err := ecr.NewRepository(s.ctx, s.name("registry"), &ecr.RepositoryArgs{
		ImageTagMutability: pulumi.String("IMMUTABLE"),
		// AWS refuses to delete a repository that holds images unless forced
		// (ecr:DeleteRepository, RepositoryNotEmptyException), which made `pulumi destroy` of a
		// stack fail. An unprotected stack's images are rebuilt from the sources, so they go with
		// it; a protected stack's repository is never force-deleted.
		ForceDelete: pulumi.Bool(!s.cfg.Protect),
		ImageScanningConfiguration: &ecr.RepositoryImageScanningConfigurationArgs{
			ScanOnPush: pulumi.Bool(true),
		},
		EncryptionConfigurations: ecr.RepositoryEncryptionConfigurationArray{
			&ecr.RepositoryEncryptionConfigurationArgs{EncryptionType: pulumi.String("KMS")},
		},
	}, s.opts("registry")...)
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
	if _, err := ecr.NewLifecyclePolicy(s.ctx, s.name("registry"), &ecr.LifecyclePolicyArgs{
		Repository: repo.Name,
		Policy:     pulumi.String(string(lifecycle)),
	}, s.opts("registry")...); err != nil {
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
	dockerfile := filepath.Join(root, "image", "Dockerfile")
	platform := s.cfg.Service.Architecture.DockerPlatform()
	tag, err := newImageTag(s, root, dockerfile, platform, repo.RepositoryUrl)
	if err != nil {
		return nil, err
	}
	auth := ecr.GetAuthorizationTokenOutput(s.ctx, ecr.GetAuthorizationTokenOutputArgs{RegistryId: repo.RegistryId}, s.invokeOpts()...)
	image, err := docker.NewImage(s.ctx, s.name("registry"), &docker.ImageArgs{
		ImageName: pulumi.Sprintf("%s:%s", repo.RepositoryUrl, tag),
		Build: &docker.DockerBuildArgs{
			Context:        pulumi.String(root),
			Dockerfile:     pulumi.String(dockerfile),
			Platform:       pulumi.String(platform),
			BuilderVersion: imageBuilderVersion,
		},
		Registry: &docker.RegistryArgs{
			Server:   repo.RepositoryUrl,
			Username: auth.UserName(),
			Password: pulumi.ToSecret(auth.Password()).(pulumi.StringOutput),
		},
	}, s.opts("registry")...)
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

// imageBuilderVersion is the builder the image is built with (an input of the image's diff).
const imageBuilderVersion = docker.BuilderVersionBuilderBuildKit

// newImageTag returns the tag the image is pushed under: src-<sources>-<suffix>.
//
// The repository's tags are immutable: pushing a tag that exists fails with
// ImageTagAlreadyExistsException
// (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html). pulumi-docker
// v4's Image rebuilds and pushes whenever any input differs from the last deployed one
// (provider/provider.go, Diff: every input but the registry's username and password), and its
// inputs include the context digest Check computes (hashContext: name, mode and contents of every
// context file, and the Dockerfile), the absolute context and Dockerfile paths, the platform, the
// builder and the registry server. A tag that is a function of those inputs alone would be pushed
// again on a `git revert` (the inputs of an earlier build, whose tag exists). So the suffix is a
// random id whose keepers are exactly those inputs: any change of them replaces the id, and every
// rebuild pushes a tag no build has used; unchanged inputs keep id, tag and image (no rebuild, no
// task roll). <sources> names the copied sources for people (internal/buildcontext.SourceDigest);
// it is not what makes the tag unique.
func newImageTag(s *scope, root, dockerfile, platform string, repositoryURL pulumi.StringOutput) (pulumi.StringOutput, error) {
	build, err := buildcontext.Load(root, dockerfile)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	sources, err := build.SourceDigest()
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	contextDigest, err := build.ContextDigest()
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	suffix, err := random.NewRandomId(s.ctx, s.name("registry-image-tag"), &random.RandomIdArgs{
		ByteLength: pulumi.Int(4),
		Keepers: pulumi.StringMap{
			"contextDigest":  pulumi.String(contextDigest),
			"context":        pulumi.String(build.Dir),
			"dockerfile":     pulumi.String(build.Dockerfile),
			"platform":       pulumi.String(platform),
			"builderVersion": pulumi.String(string(imageBuilderVersion)),
			"registry":       repositoryURL,
		},
	}, s.opts("registry-image-tag")...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	return pulumi.Sprintf("src-%s-%s", sources[:12], suffix.Hex), nil
}
