package infra

import (
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
)

func TestImageBucketIsAdoptedNeverCreatedOrCopied(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		existing := r.config("existingBucketName")
		if existing == "" {
			t.Fatal("the stack files adopt today's buckets")
		}
		if _, ok := r.Get(tBucket, "images"); ok {
			t.Error("an adopted bucket must not be declared as a bucket resource (it could be replaced or deleted)")
		}
		if r.outputs["bucketName"] != existing {
			t.Errorf("bucketName output %q, want %q", r.outputs["bucketName"], existing)
		}
		assertHardenedBucket(t, r, "images", existing)
	})
}

func TestCreatedImageBucket(t *testing.T) {
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			r := withOverrides(t, stack, map[string]string{"existingBucketName": ""})
			b := r.one(t, tBucket, "images")
			if !b.RetainOnDelete {
				t.Error("created image bucket must be retained on delete")
			}
			if want := stack == "prod"; b.Protect != want {
				t.Errorf("protect = %v, want %v", b.Protect, want)
			}
			if v, _ := b.Input("forceDestroy"); v == true {
				t.Error("forceDestroy would delete images with the bucket")
			}
			assertHardenedBucket(t, r, "images", "")
		})
	}
}

// assertHardenedBucket checks the baseline of a bucket (bucket name if known).
func assertHardenedBucket(t *testing.T, r *run, name, bucket string) {
	t.Helper()
	for token, resName := range map[string]string{tPublicAccess: name, tOwnership: name, tEncryption: name, tBucketPolicy: name + "-policy"} {
		res := r.one(t, token, resName)
		if bucket != "" && res.InputString("bucket") != bucket {
			t.Errorf("%s applies to %q, want %q", token, res.InputString("bucket"), bucket)
		}
		if name == "images" && !res.RetainOnDelete {
			t.Errorf("%s on the image bucket must be retained on delete", token)
		}
	}
	pab := r.one(t, tPublicAccess, name)
	for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
		if v, _ := pab.Input(k); v != true {
			t.Errorf("public access block %s = %v", k, v)
		}
	}
	if got := r.one(t, tOwnership, name).InputString("rule.objectOwnership"); got != "BucketOwnerEnforced" {
		t.Errorf("object ownership %q", got)
	}
	if got := r.one(t, tEncryption, name).InputString("rules[0].applyServerSideEncryptionByDefault.sseAlgorithm"); got != "AES256" {
		t.Errorf("default encryption %q", got)
	}
	policyRes := r.one(t, tBucketPolicy, name+"-policy")
	if !slices.Contains(policyRes.DependsOn, name) {
		t.Errorf("%s bucket policy may go live before the public access block: depends on %v", name, policyRes.DependsOn)
	}
	doc := parsePolicy(t, name+" bucket policy", policyRes.InputString("policy"))
	denies := false
	for _, s := range doc.Statement {
		if s.Effect == "Deny" && slices.Contains(stringList(s.Action), "s3:*") &&
			fmt.Sprint(s.Condition["Bool"]["aws:SecureTransport"]) == "false" && len(stringList(s.Resource)) == 2 {
			denies = true
		}
	}
	if !denies {
		t.Errorf("%s bucket policy does not deny non-TLS requests to the bucket and its objects", name)
	}
}

func TestImageBucketVersioningAndLifecycle(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) { checkImageLifecycle(t, r) })
	// An adopted bucket with the expiry configured, and a created bucket with and without.
	for name, overrides := range map[string]map[string]string{
		"adopted, expiry set":   {"noncurrentVersionExpirationDays": "30"},
		"adopted, expiry 0":     {"noncurrentVersionExpirationDays": "0"},
		"created, expiry unset": {"existingBucketName": ""},
		"created, expiry set":   {"existingBucketName": "", "noncurrentVersionExpirationDays": "14"},
	} {
		t.Run(name, func(t *testing.T) { checkImageLifecycle(t, withOverrides(t, "prod", overrides)) })
	}
}

// checkImageLifecycle: nothing readable is deleted unless configured. On an adopted bucket without
// noncurrentVersionExpirationDays no rule expires anything (the stack's rules replace the bucket's
// own, and the first up must not purge noncurrent versions the operator kept); a created bucket
// always expires the registry's deleted upload data after a day.
func checkImageLifecycle(t *testing.T, r *run) {
	if got := r.one(t, tVersioning, "images").InputString("versioningConfiguration.status"); got != "Enabled" {
		t.Errorf("versioning %q", got)
	}
	lc := r.one(t, tLifecycle, "images")
	if !lc.RetainOnDelete {
		t.Error("lifecycle rules of the image bucket must be retained on delete")
	}
	rules, _ := lc.Input("rules")
	var abort, noncurrent, uploadData float64
	for _, m := range objects(t, "lifecycle.rules", rules) {
		if m["status"] != "Enabled" {
			continue
		}
		if a, ok := m["abortIncompleteMultipartUpload"].(map[string]any); ok {
			abort, _ = number(a["daysAfterInitiation"])
		}
		n, ok := m["noncurrentVersionExpiration"].(map[string]any)
		if !ok {
			continue
		}
		filter, _ := m["filter"].(map[string]any)
		and, _ := filter["and"].(map[string]any)
		prefix, _ := filter["prefix"].(string)
		andPrefix, _ := and["prefix"].(string)
		andSize, _ := and["objectSizeGreaterThan"].(float64)
		switch {
		case prefix == "" && and == nil && filter["objectSizeGreaterThan"] == nil && filter["tag"] == nil:
			noncurrent, _ = number(n["noncurrentDays"])
		case andPrefix == registryconfig.S3RepositoriesPrefix && andSize >= registryconfig.S3UploadDataMinBytes && and["tags"] == nil:
			uploadData, _ = number(n["noncurrentDays"])
		default:
			// Anything else would cut the recovery window of data that is not a copy.
			t.Errorf("rule %v expires noncurrent versions of part of the bucket (%v) that is not deleted upload data", m["id"], filter)
		}
	}
	days, _ := strconv.Atoi(r.config("noncurrentVersionExpirationDays"))
	adopted := r.config("existingBucketName") != ""
	if wantUpload := !adopted || days > 0; wantUpload && uploadData != 1 {
		t.Errorf("deleted upload data (noncurrent versions over %d bytes under %s) expires after %v days, want 1: each push leaves one such copy of every layer",
			registryconfig.S3UploadDataMinBytes, registryconfig.S3RepositoriesPrefix, uploadData)
	} else if !wantUpload && uploadData != 0 {
		t.Errorf("an adopted bucket without noncurrentVersionExpirationDays expires deleted upload data after %v days; nothing may be deleted unless configured", uploadData)
	}
	tiering := false
	for _, m := range objects(t, "lifecycle.rules", rules) {
		filter, _ := m["filter"].(map[string]any)
		size, _ := number(filter["objectSizeGreaterThan"])
		for _, tm := range objects(t, "lifecycle.rules[].transitions", m["transitions"]) {
			tiering = tiering || (m["status"] == "Enabled" && tm["storageClass"] == "INTELLIGENT_TIERING" && size >= 128*1024)
		}
	}
	if !tiering {
		t.Error("layers (objects over 128 KiB) do not move to Intelligent-Tiering")
	}
	if strconv.Itoa(int(abort)) != r.config("abortIncompleteUploadDays") || abort == 0 {
		t.Errorf("abort incomplete uploads after %v days, config %s", abort, r.config("abortIncompleteUploadDays"))
	}
	if int(noncurrent) != days {
		t.Errorf("noncurrent versions expire after %v days, config %d (0: never)", noncurrent, days)
	}
}
