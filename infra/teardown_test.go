package infra

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synth"
)

// destroyStack models what `pulumi destroy` does to the cloud, and what the deletes of an update
// do to resources that left the program (a rename gives them new identities):
//   - Pulumi refuses to delete a protected resource and stops
//     (https://www.pulumi.com/docs/iac/concepts/options/protect/); unprotect models
//     `pulumi state unprotect --all` first;
//   - a retainOnDelete resource leaves the state but stays in the cloud
//     (https://www.pulumi.com/docs/iac/concepts/options/retainondelete/);
//   - AWS refuses ecr:DeleteRepository on a repository that holds images unless force is set
//     (RepositoryNotEmptyException,
//     https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DeleteRepository.html); after
//     an `up` the repository holds the registry image.
//
// It returns the resources left in the cloud, as "type::name".
func destroyStack(r *run, unprotect bool, only func(synth.Resource) bool) ([]string, error) {
	var kept []string
	for _, res := range r.Resources {
		if res.Component || res.Read != "" || strings.HasPrefix(res.Type, "pulumi:providers:") || (only != nil && !only(res)) {
			continue
		}
		id := res.Type + "::" + res.Name
		switch {
		case res.Protect && !unprotect:
			return nil, fmt.Errorf("%s is protected; pulumi destroy stops", id)
		case res.RetainOnDelete:
			kept = append(kept, id)
		case res.Type == tRepository && res.Inputs["forceDelete"] != true:
			return nil, fmt.Errorf("RepositoryNotEmptyException: %s holds images and forceDelete is not set", id)
		}
	}
	return kept, nil
}

// A stack with protect false is destroyed completely, the non-empty ECR repository included.
func TestUnprotectedStackDestroys(t *testing.T) {
	r := withOverrides(t, "dev", map[string]string{"protect": "false"})
	kept, err := destroyStack(r, false, nil)
	if err != nil {
		t.Fatalf("pulumi destroy of an unprotected stack fails: %v", err)
	}
	for _, id := range kept {
		// The adopted bucket's hardening is retained on purpose: a destroy never leaves a bucket
		// of images less protected than it was.
		if !strings.HasPrefix(id, "aws:s3/") {
			t.Errorf("an unprotected stack leaves %s behind", id)
		}
	}
}

// A protected stack cannot be destroyed by accident; after an unprotect, a destroy keeps the log
// group (the audit logs), the image bucket and the secret, and never force-deletes the images.
func TestProtectedStackKeepsLogsBucketAndSecret(t *testing.T) {
	for name, overrides := range map[string]map[string]string{
		"adopted bucket": nil,
		"created bucket": {"existingBucketName": ""},
	} {
		t.Run(name, func(t *testing.T) {
			r := withOverrides(t, "prod", overrides)
			if _, err := destroyStack(r, false, nil); err == nil {
				t.Error("pulumi destroy of a protected stack went through")
			}
			if v := r.one(t, tRepository, "registry").Inputs["forceDelete"]; v == true {
				t.Error("a protected stack's ECR repository is force-deleted with its images")
			}
			kept, _ := destroyStack(r, true, func(res synth.Resource) bool { return res.Type != tRepository })
			want := []string{tLogGroup + "::registry", tSecret + "::registry"}
			if overrides != nil {
				want = append(want, tBucket+"::images")
			}
			for _, w := range want {
				if !slices.Contains(kept, w) {
					t.Errorf("after unprotect and destroy, %s is deleted; kept: %v", w, kept)
				}
			}
		})
	}
}

// A rename of project or stack (`pulumi stack rename`) changes the names derived from them; the
// provider replaces such a resource, deleting the old one, so the kept ones must be retained.
func TestRenameKeepsLogsBucketAndSecret(t *testing.T) {
	before := withOverrides(t, "prod", map[string]string{"existingBucketName": ""})
	renamedCfg := loadStack(t, "prod", map[string]string{"existingBucketName": ""})
	renamedCfg.Stack = "production"
	renamed := map[string]string{}
	for k, v := range renamedCfg.Config {
		renamed[strings.Replace(k, project+":", "docker-registry:", 1)] = v
	}
	renamedCfg.Project, renamedCfg.Config = "docker-registry", renamed
	for i, k := range renamedCfg.SecretKeys {
		renamedCfg.SecretKeys[i] = strings.Replace(k, project+":", "docker-registry:", 1)
	}
	after, err := synthesize(t, renamedCfg)
	if err != nil {
		t.Fatal(err)
	}
	replaced := 0
	for _, w := range []struct{ token, name string }{{tLogGroup, "registry"}, {tSecret, "registry"}, {tBucket, "images"}} {
		old, renamedRes := before.one(t, w.token, w.name), after.one(t, w.token, w.name)
		for _, key := range []string{"name", "bucket"} {
			if old.InputString(key) != renamedRes.InputString(key) {
				replaced++
				if !old.RetainOnDelete {
					t.Errorf("%s %s: the rename replaces it (%s %q → %q) and the old one is deleted", w.token, w.name, key, old.InputString(key), renamedRes.InputString(key))
				}
			}
		}
		if !old.RetainOnDelete {
			t.Errorf("%s %s is not retained on delete in a protected stack", w.token, w.name)
		}
	}
	if replaced == 0 {
		t.Error("no kept resource's name follows the project or stack; the model checks nothing")
	}
}
