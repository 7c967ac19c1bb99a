package infra

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
)

// intelligentTieringMinBytes: S3 Intelligent-Tiering monitors and tiers only objects larger than
// 128 KiB; smaller ones would pay a transition request for nothing.
const intelligentTieringMinBytes = 128 * 1024

// deletedUploadDataDays: S3's shortest noncurrent expiration (it expires at the next midnight UTC
// after a day, so a deleted upload is billed for one to two days).
const deletedUploadDataDays = 1

// Storage is the S3 bucket holding the registry's image data.
type Storage struct {
	BucketName pulumi.StringOutput
	BucketArn  pulumi.StringOutput
}

// newImageStorage creates the image bucket, or adopts an existing one by name. An adopted bucket is
// only looked up, never put in the stack's state as a bucket, so no Pulumi operation can delete or
// copy it; a created bucket is retained on delete and protected in production. Either way the
// bucket gets the same hardening, and that hardening is itself retained, so destroying the stack
// never leaves a bucket of images less protected than it was.
func newImageStorage(s *scope) (*Storage, error) {
	cfg := s.cfg.Storage
	var name, arn pulumi.StringOutput
	if cfg.ExistingBucketName != "" {
		existing := s3.LookupBucketOutput(s.ctx, s3.LookupBucketOutputArgs{Bucket: pulumi.String(cfg.ExistingBucketName)}, s.invokeOpts()...)
		name, arn = existing.Bucket(), existing.Arn()
	} else {
		bucket, err := s3.NewBucketV2(s.ctx, s.name("images"), &s3.BucketV2Args{
			BucketPrefix: pulumi.String(s.names.prefix("images", 37)),
			ForceDestroy: pulumi.Bool(false),
		}, s.opts("images", append(s.keepAutoName("bucket", "bucketPrefix"), pulumi.RetainOnDelete(true), pulumi.Protect(s.cfg.Protect))...)...)
		if err != nil {
			return nil, err
		}
		name, arn = bucket.Bucket, bucket.Arn
	}

	keep := []pulumi.ResourceOption{pulumi.RetainOnDelete(true)}
	if _, err := hardenBucket(s, "images", name, arn, nil, keep...); err != nil {
		return nil, err
	}
	// Versioning turns an accidental overwrite or delete into a recoverable noncurrent version.
	versioning, err := s3.NewBucketVersioningV2(s.ctx, s.name("images"), &s3.BucketVersioningV2Args{
		Bucket:                  name,
		VersioningConfiguration: &s3.BucketVersioningV2VersioningConfigurationArgs{Status: pulumi.String("Enabled")},
	}, s.opts("images", keep...)...)
	if err != nil {
		return nil, err
	}
	if cfg.ExistingBucketName != "" {
		// Seen in `pulumi preview` and `pulumi up`; `make synth` prints the same list.
		s.ctx.Log.Warn(strings.Join(AdoptedBucketReplacements(s.cfg), "\n"), nil)
	}
	_, err = s3.NewBucketLifecycleConfigurationV2(s.ctx, s.name("images"), &s3.BucketLifecycleConfigurationV2Args{
		Bucket: name,
		Rules:  imageLifecycleRules(cfg),
	}, s.opts("images", append(keep, pulumi.DependsOn([]pulumi.Resource{versioning}))...)...)
	if err != nil {
		return nil, err
	}
	return &Storage{BucketName: name, BucketArn: arn}, nil
}

// imageLifecycleRules are the image bucket's lifecycle rules. They replace every rule the bucket
// had (PutBucketLifecycleConfiguration sets the whole configuration). None deletes readable data:
// the rules that expire noncurrent versions exist only when noncurrentVersionExpirationDays is
// set, except that a bucket the stack created (nothing in it predates the stack) always expires
// the registry's deleted upload data after a day.
func imageLifecycleRules(cfg StorageConfig) s3.BucketLifecycleConfigurationV2RuleArray {
	rules := s3.BucketLifecycleConfigurationV2RuleArray{
		// Pushes that die mid-layer leave multipart uploads that are billed until aborted; they
		// were never readable objects.
		&s3.BucketLifecycleConfigurationV2RuleArgs{
			Id:     pulumi.String("abort-incomplete-multipart-uploads"),
			Status: pulumi.String("Enabled"),
			Filter: &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("")},
			AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
				DaysAfterInitiation: pulumi.Int(cfg.AbortIncompleteUploadDays),
			},
		},
		// Layers are written once and mostly never read again (an analysis is reproduced
		// rarely), so Intelligent-Tiering moves each to cheaper tiers after 30 and 90 days
		// without reads, with no retrieval fee and no added latency, and back on access.
		// Objects up to 128 KiB (links, manifests) cannot be tiered and stay in Standard.
		&s3.BucketLifecycleConfigurationV2RuleArgs{
			Id:     pulumi.String("intelligent-tiering-for-layers"),
			Status: pulumi.String("Enabled"),
			Filter: &s3.BucketLifecycleConfigurationV2RuleFilterArgs{ObjectSizeGreaterThan: pulumi.Int(intelligentTieringMinBytes)},
			Transitions: s3.BucketLifecycleConfigurationV2RuleTransitionArray{&s3.BucketLifecycleConfigurationV2RuleTransitionArgs{
				Days:         pulumi.Int(0),
				StorageClass: pulumi.String("INTELLIGENT_TIERING"),
			}},
		},
	}
	if cfg.NoncurrentVersionExpirationDays > 0 || cfg.ExistingBucketName == "" {
		// Every push leaves a deleted copy of each layer: the registry writes it under
		// repositories/<name>/_uploads/, copies it to its content address and deletes it.
		// That noncurrent version protects nothing, so it goes after a day rather than after
		// the bucket's recovery window; the size filter spares the small links and tags,
		// whose noncurrent versions are what restores a deleted tag.
		rules = append(rules, &s3.BucketLifecycleConfigurationV2RuleArgs{
			Id:     pulumi.String("expire-deleted-upload-data"),
			Status: pulumi.String("Enabled"),
			Filter: &s3.BucketLifecycleConfigurationV2RuleFilterArgs{And: &s3.BucketLifecycleConfigurationV2RuleFilterAndArgs{
				Prefix:                pulumi.String(registryconfig.S3RepositoriesPrefix),
				ObjectSizeGreaterThan: pulumi.Int(registryconfig.S3UploadDataMinBytes),
			}},
			NoncurrentVersionExpiration: &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{
				NoncurrentDays: pulumi.Int(deletedUploadDataDays),
			},
		})
	}
	if cfg.NoncurrentVersionExpirationDays > 0 {
		// Anything else overwritten or deleted stays recoverable for the configured window;
		// then its noncurrent versions and the delete markers left behind go.
		rules = append(rules, &s3.BucketLifecycleConfigurationV2RuleArgs{
			Id:     pulumi.String("expire-noncurrent-versions"),
			Status: pulumi.String("Enabled"),
			Filter: &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("")},
			NoncurrentVersionExpiration: &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{
				NoncurrentDays: pulumi.Int(cfg.NoncurrentVersionExpirationDays),
			},
			Expiration: &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{
				ExpiredObjectDeleteMarker: pulumi.Bool(true),
			},
		})
	}
	return rules
}

// AdoptedBucketReplacements says which existing settings of the adopted bucket the stack's first
// `pulumi up` replaces, each with the command that exports today's value to compare (the
// migration guide's step 3). Empty when the stack creates its bucket.
func AdoptedBucketReplacements(cfg *DockerRegistryArgs) []string {
	b := cfg.Storage.ExistingBucketName
	if b == "" {
		return nil
	}
	expiry := "no rule deletes any object version (noncurrentVersionExpirationDays is 0)"
	if d := cfg.Storage.NoncurrentVersionExpirationDays; d > 0 {
		expiry = fmt.Sprintf("noncurrent versions are DELETED after %d days, deleted upload data after %d", d, deletedUploadDataDays)
	}
	return []string{
		fmt.Sprintf("adopted bucket %s: the first pulumi up replaces these existing settings (export each first: docs/operations.md, Migrating, step 3):", b),
		fmt.Sprintf("  lifecycle configuration: every existing rule is replaced; %s (aws s3api get-bucket-lifecycle-configuration --bucket %s)", expiry, b),
		fmt.Sprintf("  versioning: set to Enabled, which cannot be undone (aws s3api get-bucket-versioning --bucket %s)", b),
		fmt.Sprintf("  bucket policy: replaced by a deny of requests without TLS; other statements are gone (aws s3api get-bucket-policy --bucket %s)", b),
		fmt.Sprintf("  object ownership: BucketOwnerEnforced, ACLs stop applying (aws s3api get-bucket-ownership-controls --bucket %s; aws s3api get-bucket-acl --bucket %s)", b, b),
		fmt.Sprintf("  default encryption: SSE-S3 with a bucket key (aws s3api get-bucket-encryption --bucket %s)", b),
		fmt.Sprintf("  public access block: all four on (aws s3api get-public-access-block --bucket %s)", b),
	}
}

// bucketPolicyExtension adds statements to a hardened bucket's policy that use values known only
// at deployment (account ids, service principals): policy renders the whole document, the
// baseline statements for the bucket followed by its own.
type bucketPolicyExtension interface {
	policy(bucketArn pulumi.StringOutput, baseline func(bucketArn string) []PolicyStatement) pulumi.StringOutput
}

// denyInsecureTransport is the baseline statement of every bucket policy of the stack.
func denyInsecureTransport(bucketArn string) []PolicyStatement {
	return []PolicyStatement{{
		Sid:       "DenyInsecureTransport",
		Effect:    "Deny",
		Principal: map[string]any{"AWS": "*"},
		Action:    []string{"s3:*"},
		Resource:  []string{bucketArn, bucketArn + "/*"},
		Condition: map[string]map[string]string{"Bool": {"aws:SecureTransport": "false"}},
	}}
}

// hardenBucket applies the baseline every bucket of the stack gets: all public access blocked,
// ACLs disabled (bucket owner owns every object), SSE-S3 default encryption, and a policy that
// denies any request not made over TLS, plus the statements of extra, if any.
func hardenBucket(s *scope, name string, bucket, arn pulumi.StringOutput, extra bucketPolicyExtension, opts ...pulumi.ResourceOption) (*s3.BucketPolicy, error) {
	publicAccess, err := s3.NewBucketPublicAccessBlock(s.ctx, s.name(name), &s3.BucketPublicAccessBlockArgs{
		Bucket:                bucket,
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, s.opts(name, opts...)...)
	if err != nil {
		return nil, err
	}
	_, err = s3.NewBucketOwnershipControls(s.ctx, s.name(name), &s3.BucketOwnershipControlsArgs{
		Bucket: bucket,
		Rule:   &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, s.opts(name, opts...)...)
	if err != nil {
		return nil, err
	}
	// SSE-S3 rather than SSE-KMS: ALB access logs support only SSE-S3, and for image data it adds
	// no per-request KMS calls (and KMS throttling) on pull-heavy deployment days.
	_, err = s3.NewBucketServerSideEncryptionConfigurationV2(s.ctx, s.name(name), &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: bucket,
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{
			&s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
				ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
					SseAlgorithm: pulumi.String("AES256"),
				},
				BucketKeyEnabled: pulumi.Bool(true),
			},
		},
	}, s.opts(name, opts...)...)
	if err != nil {
		return nil, err
	}
	var document pulumi.StringOutput
	if extra != nil {
		document = extra.policy(arn, denyInsecureTransport)
	} else {
		document = policyJSON(arn, func(bucketArn string) PolicyDocument {
			return policy(denyInsecureTransport(bucketArn)...)
		})
	}
	// The policy waits for the public access block so a permissive statement can never be live
	// without the block in front of it.
	return s3.NewBucketPolicy(s.ctx, s.name(name+"-policy"), &s3.BucketPolicyArgs{Bucket: bucket, Policy: document},
		s.opts(name+"-policy", append(opts, pulumi.DependsOn([]pulumi.Resource{publicAccess}))...)...)
}
