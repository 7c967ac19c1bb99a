package infra

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synth"
)

// 1. Network.
func TestNetwork(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		vpc := r.one(t, tVpc, "registry")
		if got, want := vpc.InputString("cidrBlock"), r.config("vpcCidr"); got != want {
			t.Errorf("VPC CIDR %q, want the stack's vpcCidr %q", got, want)
		}
		for _, k := range []string{"enableDnsHostnames", "enableDnsSupport"} {
			if v, _ := vpc.Input(k); v != true {
				t.Errorf("VPC %s = %v (ECR, S3 and Secrets Manager endpoints need DNS)", k, v)
			}
		}
		r.one(t, tInternetGateway, "registry")
	})
}

// The subnets are the README's: per AZ, in two distinct AZs, a private /26 and a public /27 of the
// VPC (for a /24), none overlapping, each with its own route table.
func TestSubnetsSpanTwoAZsWithTheDocumentedCidrs(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		vpc := netip.MustParsePrefix(r.config("vpcCidr"))
		if got := len(r.ByType(tSubnet)); got != 4 {
			t.Fatalf("%d subnets, want 2 public and 2 private", got)
		}
		var seen []netip.Prefix
		for kind, bits := range map[string]int{"public": 27, "private": 26} {
			zones := map[string]bool{}
			for n := 1; n <= 2; n++ {
				name := fmt.Sprintf("registry-%s-%d", kind, n)
				sub := r.one(t, tSubnet, name)
				cidr := netip.MustParsePrefix(sub.InputString("cidrBlock"))
				if cidr.Bits() != bits+vpc.Bits()-24 || !vpc.Contains(cidr.Addr()) {
					t.Errorf("%s CIDR %s, want a /%d inside %s", name, cidr, bits+vpc.Bits()-24, vpc)
				}
				for _, other := range seen {
					if other.Overlaps(cidr) {
						t.Errorf("%s CIDR %s overlaps %s", name, cidr, other)
					}
				}
				seen = append(seen, cidr)
				zones[sub.InputString("availabilityZone")] = true
				assoc := r.one(t, tRouteAssoc, name+"-routes")
				if !slices.Contains(assoc.DependsOn, name) || !slices.Contains(assoc.DependsOn, name+"-routes") {
					t.Errorf("%s is not associated with its own route table: %v", name, assoc.DependsOn)
				}
			}
			if len(zones) != 2 || zones[""] {
				t.Errorf("%s subnets are in AZs %v, want two distinct ones", kind, zones)
			}
		}
		if r.Stack == "dev" {
			// The documented split of the committed /24.
			for name, want := range map[string]string{
				"registry-private-1": "172.29.0.0/26", "registry-public-1": "172.29.0.64/27",
				"registry-private-2": "172.29.0.128/26", "registry-public-2": "172.29.0.192/27",
			} {
				if got := r.one(t, tSubnet, name).InputString("cidrBlock"); got != want {
					t.Errorf("%s CIDR %s, want %s", name, got, want)
				}
			}
		}
	})
}

// Public subnets route to the internet through the internet gateway; private ones through a NAT
// gateway (their AZ's with OnePerAz, the first AZ's with Single), each NAT with its own EIP in a
// public subnet; S3 goes through the gateway endpoint on the private route tables only.
func TestRoutesAndNatGatewaysFollowTheStrategy(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		onePerAz := r.config("natGateways") == "OnePerAz"
		wantNats := map[bool]int{true: 2, false: 1}[onePerAz]
		if got := len(r.ByType(tNatGateway)); got != wantNats {
			t.Errorf("%d NAT gateways with strategy %s, want %d", got, r.config("natGateways"), wantNats)
		}
		if got := len(r.ByType(tEip)); got != wantNats {
			t.Errorf("%d Elastic IPs, want one per NAT gateway (%d)", got, wantNats)
		}
		for n := 1; n <= wantNats; n++ {
			nat := r.one(t, tNatGateway, fmt.Sprintf("registry-nat-%d", n))
			public := fmt.Sprintf("registry-public-%d", n)
			for _, dep := range []string{public, fmt.Sprintf("registry-nat-%d-ip", n), "registry"} {
				if !slices.Contains(nat.DependsOn, dep) {
					t.Errorf("NAT gateway %d does not depend on %s (its subnet, EIP, internet gateway): %v", n, dep, nat.DependsOn)
				}
			}
			if eip := r.one(t, tEip, fmt.Sprintf("registry-nat-%d-ip", n)); eip.InputString("domain") != "vpc" {
				t.Errorf("NAT EIP domain %q, want vpc", eip.InputString("domain"))
			}
		}
		for n := 1; n <= 2; n++ {
			pub := r.one(t, tRoute, fmt.Sprintf("registry-public-%d-default", n))
			if pub.InputString("destinationCidrBlock") != "0.0.0.0/0" || pub.InputString("gatewayId") == "" ||
				!slices.Contains(pub.DependsOn, "registry") || !slices.Contains(pub.DependsOn, fmt.Sprintf("registry-public-%d-routes", n)) {
				t.Errorf("public route %d is not 0.0.0.0/0 via the internet gateway in its table: %v %v", n, pub.Inputs, pub.DependsOn)
			}
			if _, ok := pub.Input("natGatewayId"); ok {
				t.Errorf("public route %d goes through a NAT gateway", n)
			}
			priv := r.one(t, tRoute, fmt.Sprintf("registry-private-%d-default", n))
			nat := fmt.Sprintf("registry-nat-%d", map[bool]int{true: n, false: 1}[onePerAz])
			if priv.InputString("destinationCidrBlock") != "0.0.0.0/0" || priv.InputString("natGatewayId") == "" ||
				!slices.Contains(priv.DependsOn, nat) || !slices.Contains(priv.DependsOn, fmt.Sprintf("registry-private-%d-routes", n)) {
				t.Errorf("private route %d is not 0.0.0.0/0 via %s in its table: %v %v", n, nat, priv.Inputs, priv.DependsOn)
			}
			if _, ok := priv.Input("gatewayId"); ok {
				t.Errorf("private route %d goes straight to the internet gateway", n)
			}
		}

		ep := r.one(t, tVpcEndpoint, "s3-gateway")
		if ep.InputString("vpcEndpointType") != "Gateway" || ep.InputString("serviceName") != "com.amazonaws.us-east-1.s3" {
			t.Errorf("S3 endpoint: type %q service %q", ep.InputString("vpcEndpointType"), ep.InputString("serviceName"))
		}
		if rts := stringList(ep.Inputs["routeTableIds"]); len(rts) != 2 ||
			!slices.Contains(ep.DependsOn, "registry-private-1-routes") || !slices.Contains(ep.DependsOn, "registry-private-2-routes") ||
			slices.Contains(ep.DependsOn, "registry-public-1-routes") || slices.Contains(ep.DependsOn, "registry-public-2-routes") {
			t.Errorf("S3 gateway endpoint is on route tables %v (depends on %v), want the two private ones", rts, ep.DependsOn)
		}
	})
}

// 2. Image storage.
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
	for _, rule := range rules.([]any) {
		m := rule.(map[string]any)
		if m["status"] != "Enabled" {
			continue
		}
		if a, ok := m["abortIncompleteMultipartUpload"].(map[string]any); ok {
			abort = a["daysAfterInitiation"].(float64)
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
			noncurrent = n["noncurrentDays"].(float64)
		case andPrefix == registryconfig.S3RepositoriesPrefix && andSize >= registryconfig.S3UploadDataMinBytes && and["tags"] == nil:
			uploadData = n["noncurrentDays"].(float64)
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
	for _, rule := range rules.([]any) {
		m := rule.(map[string]any)
		transitions, _ := m["transitions"].([]any)
		size, _ := m["filter"].(map[string]any)["objectSizeGreaterThan"].(float64)
		for _, tr := range transitions {
			tm := tr.(map[string]any)
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

// 3. Secrets.
func TestSecrets(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		rb := r.one(t, tRandomBytes, "http-secret")
		if n, _ := rb.Input("length"); n.(float64) < 32 {
			t.Errorf("http_secret has %v random bytes, want at least 32", n)
		}
		if len(rb.IgnoreChanges) != 0 || len(rb.Inputs) != 1 {
			t.Errorf("http_secret must be generated once (no keepers that would regenerate it): inputs %v", rb.Inputs)
		}
		secret := r.one(t, tSecret, "registry")
		if want := r.Stack == "prod"; secret.Protect != want {
			t.Errorf("secret protect = %v, want %v", secret.Protect, want)
		}
		version := r.one(t, tSecretVersion, "registry-secret-value")
		if version.InputString("secretString") != secretPlaceholder {
			t.Errorf("secret value is not a Pulumi secret: %q", version.InputString("secretString"))
		}
		if r.outputs["secretArn"] == "" || !strings.HasPrefix(r.outputs["secretArn"], "arn:aws:secretsmanager:") {
			t.Errorf("secretArn output %q", r.outputs["secretArn"])
		}
		// Nowhere in the stack — inputs of any resource, outputs — is the secret in plain text.
		js, err := r.JSON()
		if err != nil {
			t.Fatal(err)
		}
		for _, where := range []string{string(js), fmt.Sprint(r.outputs)} {
			if strings.Contains(where, testNotificationAuth) {
				t.Fatal("the notification secret appears in plain text")
			}
		}
		if len(r.Warnings) > 0 {
			t.Errorf("synth found secrets passed on in plain text: %v", r.Warnings)
		}
	})
}

// 4. Image.
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
		image := r.containers(t)[0]["image"].(string)
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

// 5. Certificate and DNS.
func TestCertificateValidatedInHostedZone(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		cert := r.one(t, tCertificate, "registry")
		if cert.InputString("domainName") != r.config("registryHost") || cert.InputString("validationMethod") != "DNS" {
			t.Errorf("certificate for %q by %q", cert.InputString("domainName"), cert.InputString("validationMethod"))
		}
		rec := r.one(t, tRecord, "registry-certificate-validation")
		if rec.InputString("type") != "CNAME" || rec.InputString("zoneId") == "" {
			t.Errorf("validation record %v", rec.Inputs)
		}
		val := r.one(t, tCertValidation, "registry")
		https := r.one(t, tListener, "https")
		if !slices.Contains(https.DependsOn, val.Name) {
			t.Errorf("the HTTPS listener must use the validated certificate (depends on %v)", https.DependsOn)
		}
		if _, ok := r.Get(tRecord, "registry-alias"); ok {
			t.Error("the stack files leave DNS to the cut-over (createDnsRecord false)")
		}
	})
}

func TestExistingCertificateAndAliasRecord(t *testing.T) {
	arn := "arn:aws:acm:us-east-1:123456789012:certificate/0b5e7a51-7c5f-4f1a-9a55-8a0c5ffd1c2a"
	r := withOverrides(t, "prod", map[string]string{"certificateArn": arn, "createDnsRecord": "true"})
	if len(r.ByType(tCertificate)) != 0 {
		t.Error("with certificateArn no certificate is requested")
	}
	if got := r.one(t, tListener, "https").InputString("certificateArn"); got != arn {
		t.Errorf("listener certificate %q", got)
	}
	alias := r.one(t, tRecord, "registry-alias")
	if !alias.RetainOnDelete {
		t.Error("turning createDnsRecord off must not delete the live record")
	}
	if alias.InputString("name") != "docker.synapse.org" || alias.InputString("type") != "A" {
		t.Errorf("alias record %v", alias.Inputs)
	}
	if alias.InputString("aliases[0].name") != r.outputs["albDnsName"] || alias.InputString("aliases[0].zoneId") == "" {
		t.Errorf("alias points at %q, ALB is %q", alias.InputString("aliases[0].name"), r.outputs["albDnsName"])
	}
}

// 6. Load balancer.
func TestLoadBalancer(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		alb := r.one(t, tLoadBalancer, "registry")
		if v, _ := alb.Input("internal"); v != false {
			t.Error("the ALB must be internet-facing")
		}
		if subnets := stringList(alb.Inputs["subnets"]); len(subnets) != 2 || !dependsOnAll(alb, "registry-public-1", "registry-public-2") ||
			dependsOnAny(alb, "registry-private-1", "registry-private-2") {
			t.Errorf("ALB subnets %v (depends on %v), want the two public ones", subnets, alb.DependsOn)
		}
		if v, _ := alb.Input("dropInvalidHeaderFields"); v != true {
			t.Error("invalid header fields are not dropped")
		}
		if m := alb.InputString("desyncMitigationMode"); m != "defensive" && m != "strictest" {
			t.Errorf("desync mitigation %q", m)
		}
		idle, _ := alb.Input("idleTimeout")
		// The commit of a 100 GB layer may read it back at ~50 MB/s before answering.
		if minimum := 100e9 / 50e6; idle.(float64) < minimum || idle.(float64) > 4000 {
			t.Errorf("idle timeout %v s: want >= %v s (100 GB layer commit) and <= 4000 s (ALB maximum)", idle, minimum)
		}
		prod := r.Stack == "prod"
		if v, _ := alb.Input("enableDeletionProtection"); v != prod {
			t.Errorf("deletion protection %v, want %v", v, prod)
		}
		logs, hasLogs := alb.Input("accessLogs")
		if prod {
			if !hasLogs || logs.(map[string]any)["enabled"] != true || alb.InputString("accessLogs.bucket") == "" {
				t.Errorf("prod must write access logs: %v", logs)
			}
			assertHardenedBucket(t, r, "alb-access-logs", "")
			if !slices.Contains(alb.DependsOn, "alb-access-logs-policy") {
				t.Errorf("the ALB may be created before it is allowed to write its logs: depends on %v", alb.DependsOn)
			}
			doc := parsePolicy(t, "access log bucket policy", r.one(t, tBucketPolicy, "alb-access-logs-policy").InputString("policy"))
			delivered := false
			for _, s := range doc.Statement {
				if s.Effect == "Allow" {
					res := stringList(s.Resource)
					if !slices.Equal(stringList(s.Action), []string{"s3:PutObject"}) || len(res) != 1 || !strings.HasSuffix(res[0], "/alb/AWSLogs/123456789012/*") ||
						fmt.Sprint(s.Principal) != "map[AWS:arn:aws:iam::127311923021:root]" {
						t.Errorf("access log bucket grants too much: %+v", s)
					}
					delivered = true
				}
			}
			if !delivered {
				t.Error("the ELB log delivery account cannot write access logs")
			}
		} else if hasLogs {
			t.Errorf("dev has access logs off, got %v", logs)
		}

		tg := r.one(t, tTargetGroup, "registry")
		if tg.InputString("protocol") != "HTTPS" || tg.InputString("targetType") != "ip" {
			t.Errorf("target group %s/%s, want HTTPS to ip targets", tg.InputString("protocol"), tg.InputString("targetType"))
		}
		if p, _ := tg.Input("port"); p != float64(RegistryPort) {
			t.Errorf("target port %v", p)
		}
		if tg.InputString("healthCheck.path") != registryHealthPath() || tg.InputString("healthCheck.port") != strconv.Itoa(HealthPort) {
			t.Errorf("health check %s on port %s, want %s on %d", tg.InputString("healthCheck.path"), tg.InputString("healthCheck.port"), registryHealthPath(), HealthPort)
		}
		if tg.InputString("healthCheck.port") == strconv.Itoa(RegistryPort) {
			t.Error("health checks must use the health port, which never carries traffic")
		}

		https := r.one(t, tListener, "https")
		if p, _ := https.Input("port"); p != float64(443) || https.InputString("protocol") != "HTTPS" {
			t.Errorf("HTTPS listener %v %s", p, https.InputString("protocol"))
		}
		if !regexp.MustCompile(`^ELBSecurityPolicy-TLS13-1-2-`).MatchString(https.InputString("sslPolicy")) {
			t.Errorf("listener policy %q allows more than TLS 1.3/1.2", https.InputString("sslPolicy"))
		}
		// Its default answers other host names; the registry host's rule forwards
		// (TestLoadBalancerServesOnlyTheRegistryHost).
		if !slices.Contains(https.DependsOn, "registry") {
			t.Errorf("HTTPS listener is not on the ALB: %v", https.DependsOn)
		}
		redirect := r.one(t, tListener, "http-redirect")
		actions, _ := redirect.Input("defaultActions")
		if p, _ := redirect.Input("port"); p != float64(80) || len(actions.([]any)) != 1 ||
			redirect.InputString("defaultActions[0].type") != "redirect" ||
			redirect.InputString("defaultActions[0].redirect.protocol") != "HTTPS" ||
			redirect.InputString("defaultActions[0].redirect.port") != "443" {
			t.Errorf("port 80 must only redirect to HTTPS 443: %v", actions)
		}
		if got := len(r.ByType(tListener)); got != 2 {
			t.Errorf("%d listeners, want exactly HTTPS and the redirect", got)
		}
	})
}

// registryHealthPath is the debug server's health path as the image documents it.
func registryHealthPath() string {
	v, _ := registryconfig.Lookup(registryconfig.EnvHealthAddr)
	if !strings.Contains(v.Description, HealthCheckPath) {
		return "image does not document " + HealthCheckPath
	}
	return HealthCheckPath
}

// 7. Service.
func TestTaskDefinition(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		td := r.one(t, tTaskDefinition, "registry")
		if td.InputString("cpu") != r.config("cpu") || td.InputString("memory") != r.config("memory") {
			t.Errorf("task size %s/%s, config %s/%s", td.InputString("cpu"), td.InputString("memory"), r.config("cpu"), r.config("memory"))
		}
		if td.InputString("runtimePlatform.cpuArchitecture") != "ARM64" || td.InputString("networkMode") != "awsvpc" {
			t.Errorf("task platform %v", td.Inputs["runtimePlatform"])
		}
		c := r.containers(t)[0]
		if m, _ := c["memory"].(float64); strconv.Itoa(int(m)) != r.config("memory") {
			t.Errorf("container memory limit %v, want the task's %s: the entrypoint sizes GOMEMLIMIT from the container's cgroup", c["memory"], r.config("memory"))
		}
		if c["readonlyRootFilesystem"] != true {
			t.Error("root filesystem is writable")
		}
		if c["privileged"] == true {
			t.Error("container is privileged")
		}
		user, _ := c["user"].(string)
		if uid := strings.Split(user, ":")[0]; uid == "" || uid == "0" || uid == "root" {
			t.Errorf("container user %q is root", user)
		}
		drop := fmt.Sprint(c["linuxParameters"].(map[string]any)["capabilities"].(map[string]any)["drop"])
		if drop != "[ALL]" {
			t.Errorf("capabilities dropped: %s", drop)
		}
		mounts := c["mountPoints"].([]any)
		if len(mounts) != 1 || mounts[0].(map[string]any)["containerPath"] != scratchPath {
			t.Errorf("writable mounts %v, want only the scratch path", mounts)
		}
		env := map[string]string{}
		for _, e := range c["environment"].([]any) {
			m := e.(map[string]any)
			env[m["name"].(string)] = m["value"].(string)
		}
		if env[registryconfig.EnvScratchDir] != scratchPath {
			t.Errorf("scratch dir %q, mounted %q", env[registryconfig.EnvScratchDir], scratchPath)
		}
		secrets := map[string]string{}
		for _, e := range c["secrets"].([]any) {
			m := e.(map[string]any)
			secrets[m["name"].(string)] = m["valueFrom"].(string)
		}
		// Exactly the variables the image requires, the secret ones only from Secrets Manager.
		var required, fed []string
		for _, v := range registryconfig.RequiredVariables(registryconfig.StorageS3) {
			required = append(required, v.Name)
		}
		for name := range env {
			fed = append(fed, name)
		}
		for name := range secrets {
			fed = append(fed, name)
		}
		for _, name := range required {
			if !slices.Contains(fed, name) {
				t.Errorf("task does not set required variable %s", name)
			}
		}
		for _, name := range fed {
			if _, ok := registryconfig.Lookup(name); !ok {
				t.Errorf("task sets %s, which the image does not read", name)
			}
		}
		for _, v := range registryconfig.SecretVariables() {
			if _, plain := env[v.Name]; plain {
				t.Errorf("secret %s is in the plain environment", v.Name)
			}
			want := map[string]string{
				registryconfig.EnvNotificationAuth: SecretKeyNotificationAuth,
				registryconfig.EnvHTTPSecret:       SecretKeyHTTPSecret,
			}[v.Name]
			if secrets[v.Name] != fmt.Sprintf("%s:%s::", r.outputs["secretArn"], want) {
				t.Errorf("secret %s comes from %q, want key %s of the stack's secret", v.Name, secrets[v.Name], want)
			}
		}
		if env[registryconfig.EnvTokenService] != r.config("registryHost") || env[registryconfig.EnvS3Bucket] != r.outputs["bucketName"] ||
			env[registryconfig.EnvTokenRealm] != r.config("tokenRealm") || env[registryconfig.EnvNotificationURL] != r.config("notificationUrl") ||
			env[registryconfig.EnvTokenCertificates] != strings.TrimSpace(r.config("tokenSigningCertificates")) {
			t.Errorf("registry settings do not match the stack config: %v", env)
		}
		// A new secret value is a new task definition revision, so the service restarts its tasks
		// and they read it (ECS resolves secrets only at task start).
		if labels, _ := c["dockerLabels"].(map[string]any); labels[secretVersionLabel] != testSecretVersionID {
			t.Errorf("task definition does not follow the secret's version: labels %v", c["dockerLabels"])
		}
		logs := c["logConfiguration"].(map[string]any)
		if logs["logDriver"] != "awslogs" || logs["options"].(map[string]any)["awslogs-group"] != r.outputs["logGroupName"] {
			t.Errorf("logs go to %v, want the stack's log group", logs)
		}
		lg := r.one(t, tLogGroup, "registry")
		if strconv.Itoa(int(lg.Inputs["retentionInDays"].(float64))) != r.config("logRetentionDays") {
			t.Errorf("log retention %v, config %s", lg.Inputs["retentionInDays"], r.config("logRetentionDays"))
		}
		ports := map[float64]bool{}
		for _, p := range c["portMappings"].([]any) {
			ports[p.(map[string]any)["containerPort"].(float64)] = true
		}
		if !ports[RegistryPort] || !ports[HealthPort] || len(ports) != 2 {
			t.Errorf("container ports %v", ports)
		}
	})
}

func TestService(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		cluster := r.one(t, tCluster, "registry")
		if cluster.InputString("settings[0].name") != "containerInsights" || cluster.InputString("settings[0].value") != "enabled" {
			t.Errorf("Container Insights: %v", cluster.Inputs["settings"])
		}
		svc := r.one(t, tService, "registry")
		if v, _ := svc.Input("networkConfiguration.assignPublicIp"); v != false {
			t.Error("tasks get a public IP")
		}
		if subnets := stringList(svc.Inputs["networkConfiguration"].(map[string]any)["subnets"]); len(subnets) != 2 ||
			!dependsOnAll(svc, "registry-private-1", "registry-private-2") || dependsOnAny(svc, "registry-public-1", "registry-public-2") {
			t.Errorf("service subnets %v (depends on %v), want the two private ones", subnets, svc.DependsOn)
		}
		desired, _ := svc.Input("desiredCount")
		if strconv.Itoa(int(desired.(float64))) != r.config("desiredCount") {
			t.Errorf("desired count %v", desired)
		}
		if r.Stack == "prod" && desired.(float64) < 2 {
			t.Errorf("prod runs %v tasks, want at least 2", desired)
		}
		if svc.InputString("availabilityZoneRebalancing") != "ENABLED" || len(stringList(svc.Inputs["networkConfiguration"].(map[string]any)["subnets"])) < 2 {
			t.Error("tasks are not spread across AZs")
		}
		if v, _ := svc.Input("deploymentCircuitBreaker.enable"); v != true {
			t.Error("circuit breaker off")
		}
		if v, _ := svc.Input("deploymentCircuitBreaker.rollback"); v != true {
			t.Error("circuit breaker does not roll back")
		}
		if v, _ := svc.Input("deploymentMinimumHealthyPercent"); v != float64(100) {
			t.Errorf("minimum healthy %v%%", v)
		}
		if v, _ := svc.Input("healthCheckGracePeriodSeconds"); v == nil || v.(float64) <= 0 {
			t.Error("no health check grace period")
		}
		if v, _ := svc.Input("waitForSteadyState"); v != true {
			t.Error("update does not wait for steady state")
		}
		if svc.InputString("loadBalancers[0].containerName") != containerName || svc.Inputs["loadBalancers"].([]any)[0].(map[string]any)["containerPort"] != float64(RegistryPort) {
			t.Errorf("service load balancer %v", svc.Inputs["loadBalancers"])
		}
		// Tasks must not start before the secret has a value, the roles can act and the listeners
		// route (each of these names is unique in the stack).
		for _, dep := range []string{"registry-secret-value", "execution-policy", "task-policy", "https", "http-redirect", "registry-host"} {
			if !slices.Contains(svc.DependsOn, dep) {
				t.Errorf("service depends on %v, missing %s", svc.DependsOn, dep)
			}
		}
		for _, unique := range []struct{ token, name string }{{tSecretVersion, "registry-secret-value"}, {tRolePolicy, "execution-policy"}, {tRolePolicy, "task-policy"}, {tListener, "https"}, {tListener, "http-redirect"}} {
			count := 0
			for _, res := range r.Resources {
				if res.Name == unique.name {
					count++
				}
			}
			if _, ok := r.Get(unique.token, unique.name); !ok || count != 1 {
				t.Errorf("%s must be the only resource named %q", unique.token, unique.name)
			}
		}
		if !slices.Contains(svc.IgnoreChanges, "desiredCount") {
			t.Error("updates would reset the autoscaled task count")
		}
		if r.outputs["clusterName"] == "" || r.outputs["serviceName"] == "" {
			t.Errorf("outputs %v", r.outputs)
		}
	})
}

// dependsOnAll reports whether r depends on every named resource.
func dependsOnAll(r synth.Resource, names ...string) bool {
	for _, n := range names {
		if !slices.Contains(r.DependsOn, n) {
			return false
		}
	}
	return true
}

// dependsOnAny reports whether r depends on any named resource.
func dependsOnAny(r synth.Resource, names ...string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return slices.Contains(r.DependsOn, n) })
}

func TestAutoscaling(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		target := r.one(t, tScalingTarget, "registry")
		if strconv.Itoa(int(target.Inputs["minCapacity"].(float64))) != r.config("minCount") ||
			strconv.Itoa(int(target.Inputs["maxCapacity"].(float64))) != r.config("maxCount") {
			t.Errorf("scaling %v..%v", target.Inputs["minCapacity"], target.Inputs["maxCapacity"])
		}
		if want := fmt.Sprintf("service/%s/%s", r.outputs["clusterName"], r.outputs["serviceName"]); target.InputString("resourceId") != want {
			t.Errorf("scalable target %q, want %q", target.InputString("resourceId"), want)
		}
		metrics := map[string]string{}
		for _, p := range r.ByType(tScalingPolicy) {
			metrics[p.InputString("targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType")] =
				p.InputString("targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.resourceLabel")
		}
		for _, m := range []string{"ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization", "ALBRequestCountPerTarget"} {
			if _, ok := metrics[m]; !ok {
				t.Errorf("no target tracking on %s", m)
			}
		}
		if !regexp.MustCompile(`^app/.+/.+/targetgroup/.+/.+$`).MatchString(metrics["ALBRequestCountPerTarget"]) {
			t.Errorf("request-count label %q is not <alb arn suffix>/<target group arn suffix>", metrics["ALBRequestCountPerTarget"])
		}
	})
}

// IAM: least privilege, no users or keys, names AWS accepts.
func TestIAM(t *testing.T) {
	namePattern := regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
	forEachStack(t, func(t *testing.T, r *run) {
		for _, token := range []string{"aws:iam/user:User", "aws:iam/accessKey:AccessKey"} {
			if len(r.ByType(token)) != 0 {
				t.Errorf("the stack declares %s", token)
			}
		}
		// Every policy document in the stack: no Allow of a non-read action on "*".
		for _, res := range r.Resources {
			for _, key := range []string{"policy", "assumeRolePolicy"} {
				text := res.InputString(key)
				// A key policy's "*" resource is the key itself; TestAlarmTopicIsEncrypted checks it.
				if text == "" || res.Type == tEcrLifecycle || res.Type == tKmsKey {
					continue
				}
				for _, s := range parsePolicy(t, res.Name+"."+key, text).Statement {
					// FSBP IAM.1 and IAM.21: no "*" or "service:*" action is allowed.
					for _, a := range stringList(s.Action) {
						if s.Effect == "Allow" && strings.HasSuffix(a, "*") {
							t.Errorf("%s %s allows the wildcard action %s", res.Type, res.Name, a)
						}
					}
					if s.Effect != "Allow" || !slices.Contains(stringList(s.Resource), "*") {
						continue
					}
					for _, a := range stringList(s.Action) {
						if a != "ecr:GetAuthorizationToken" {
							t.Errorf("%s %s allows %s on *", res.Type, res.Name, a)
						}
					}
				}
			}
		}
		bucketArn := "arn:aws:s3:::" + r.outputs["bucketName"]
		task := parsePolicy(t, "task policy", r.one(t, tRolePolicy, "task-policy").InputString("policy"))
		for _, s := range task.Statement {
			for _, res := range stringList(s.Resource) {
				if res != bucketArn && res != bucketArn+"/*" {
					t.Errorf("task role reaches %s beyond its bucket", res)
				}
			}
			for _, a := range stringList(s.Action) {
				if !strings.HasPrefix(a, "s3:") || a == "s3:*" || strings.Contains(a, "Policy") || strings.Contains(a, "Acl") {
					t.Errorf("task role action %s", a)
				}
			}
		}
		exec := parsePolicy(t, "execution policy", r.one(t, tRolePolicy, "execution-policy").InputString("policy"))
		grants := map[string][]string{}
		for _, s := range exec.Statement {
			for _, a := range stringList(s.Action) {
				grants[a] = stringList(s.Resource)
			}
		}
		if fmt.Sprint(grants["secretsmanager:GetSecretValue"]) != fmt.Sprint([]string{r.outputs["secretArn"]}) {
			t.Errorf("execution role reads secrets %v, want only %s", grants["secretsmanager:GetSecretValue"], r.outputs["secretArn"])
		}
		if g := grants["ecr:BatchGetImage"]; len(g) != 1 || !strings.HasSuffix(g[0], ":repository/registry") {
			t.Errorf("execution role pulls from %v", g)
		}
		if g := grants["logs:PutLogEvents"]; len(g) != 1 || !strings.Contains(g[0], ":log-group:"+r.outputs["logGroupName"]) {
			t.Errorf("execution role writes logs to %v", g)
		}
		for _, rp := range r.ByType(tRolePolicy) {
			if !namePattern.MatchString(rp.InputString("name")) {
				t.Errorf("policy name %q is not one IAM accepts", rp.InputString("name"))
			}
		}
		for _, role := range r.ByType(tRole) {
			assume := parsePolicy(t, role.Name+" trust", role.InputString("assumeRolePolicy"))
			s := assume.Statement[0]
			service := map[string]string{"flow-logs": "vpc-flow-logs.amazonaws.com"}[role.Name]
			if service == "" {
				service = "ecs-tasks.amazonaws.com"
			}
			if fmt.Sprint(s.Principal) != "map[Service:"+service+"]" || fmt.Sprint(s.Condition["StringEquals"]["aws:SourceAccount"]) != "123456789012" {
				t.Errorf("role %s trusts %v %v", role.Name, s.Principal, s.Condition)
			}
		}
	})
}

// 8. Security groups.
func TestSecurityGroups(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		groups := map[string]string{} // logical name -> mock id
		for _, sg := range r.ByType(tSecurityGroup) {
			groups[sg.Name] = sg.Name
			if _, inline := sg.Inputs["ingress"]; inline {
				t.Errorf("security group %s has inline rules", sg.Name)
			}
		}
		type rule struct {
			group, peer string
			port        float64
		}
		var rules []rule
		for _, token := range []string{tIngress, tEgress} {
			for _, res := range r.ByType(token) {
				peer := res.InputString("cidrIpv4") + res.InputString("cidrIpv6")
				if ref := res.InputString("referencedSecurityGroupId"); ref != "" {
					peer = "sg:" + groupOf(r, res, "referencedSecurityGroupId")
				}
				from, _ := res.Input("fromPort")
				to, _ := res.Input("toPort")
				if from != to {
					t.Errorf("%s opens a port range %v-%v", res.Name, from, to)
				}
				kind := "in"
				if token == tEgress {
					kind = "out"
				}
				rules = append(rules, rule{group: groupOf(r, res, "securityGroupId") + "-" + kind, peer: peer, port: from.(float64)})
			}
		}
		want := []rule{
			{"alb-in", "0.0.0.0/0", 443}, {"alb-in", "0.0.0.0/0", 80},
			{"alb-out", "sg:task", RegistryPort}, {"alb-out", "sg:task", HealthPort},
			{"task-in", "sg:alb", RegistryPort}, {"task-in", "sg:alb", HealthPort},
			{"task-out", "0.0.0.0/0", 443},
		}
		for _, w := range want {
			if !slices.Contains(rules, w) {
				t.Errorf("missing rule %+v", w)
			}
		}
		for _, got := range rules {
			if !slices.Contains(want, got) {
				t.Errorf("unexpected rule %+v", got)
			}
		}
	})
}

// groupOf maps a rule's security group id input back to the group's logical name (the rule
// depends on it).
func groupOf(r *run, rule synth.Resource, input string) string {
	id := rule.InputString(input)
	for _, sg := range r.ByType(tSecurityGroup) {
		if id == "sg-"+sg.Name && slices.Contains(rule.DependsOn, sg.Name) {
			return sg.Name
		}
	}
	return "unknown(" + id + ")"
}

// 9. Tags.
func TestDefaultTagsReachEveryResource(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		p := r.one(t, tProvider, "aws")
		want := map[string]string{
			"CostCenter": "Platform Infrastructure / 990300", "OwnerEmail": "synapseeng@sagebase.org",
			"Project": project, "Stack": r.Stack,
		}
		for k, v := range want {
			if got := p.InputString("defaultTags.tags." + k); got != v {
				t.Errorf("default tag %s = %q, want %q", k, got, v)
			}
		}
		if p.InputString("region") != "us-east-1" {
			t.Errorf("provider region %q", p.InputString("region"))
		}
		for _, res := range r.Resources {
			if strings.HasPrefix(res.Type, "aws:") && res.Provider != "aws" {
				t.Errorf("%s %s uses provider %q, not the tagged one", res.Type, res.Name, res.Provider)
			}
			if res.Type != tComponent && res.Type != tProvider && res.Parent == "" {
				t.Errorf("%s %s is outside the stack's component", res.Type, res.Name)
			}
		}
	})
}

// 10. Outputs.
func TestOutputs(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		if r.outputs["registryEndpoint"] != "https://"+r.config("registryHost") {
			t.Errorf("registryEndpoint %q", r.outputs["registryEndpoint"])
		}
		for _, name := range []string{"albDnsName", "bucketName", "ecrRepositoryUrl", "imageDigest", "secretArn", "clusterName", "serviceName", "logGroupName"} {
			if r.outputs[name] == "" {
				t.Errorf("output %s is empty", name)
			}
		}
		if r.outputs["logGroupName"] != "/ecs/"+project+"/"+r.Stack {
			t.Errorf("logGroupName %q", r.outputs["logGroupName"])
		}
	})
}

// Prod differs from dev where it must.
func TestProdIsSaferThanDev(t *testing.T) {
	dev, prod := stackRun(t, "dev"), stackRun(t, "prod")
	if dev.config("protect") != "false" || prod.config("protect") != "true" {
		t.Error("prod must be protected, dev not")
	}
	if a, b := dev.config("vpcCidr"), prod.config("vpcCidr"); a == b {
		t.Errorf("dev and prod share the CIDR %s", a)
	}
	if prod.config("natGateways") != "OnePerAz" {
		t.Error("prod must survive the loss of an AZ's NAT gateway")
	}
	devLogs, _ := dev.one(t, tLoadBalancer, "registry").Input("accessLogs")
	prodLogs, _ := prod.one(t, tLoadBalancer, "registry").Input("accessLogs")
	if devLogs != nil || prodLogs == nil {
		t.Error("access logs: prod on, dev off")
	}
	min, _ := strconv.Atoi(prod.config("minCount"))
	if min < 2 {
		t.Errorf("prod min tasks %d", min)
	}
	if dev.config("registryHost") == prod.config("registryHost") || dev.config("tokenSigningCertificates") == prod.config("tokenSigningCertificates") {
		t.Error("dev and prod must not share host or signing certificates")
	}
}
