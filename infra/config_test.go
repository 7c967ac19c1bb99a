package infra

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synth"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// expectConfigError synthesizes a stack that must fail validation and returns its problems. A
// failed validation declares nothing at all.
func expectConfigError(t *testing.T, cfg *synth.StackConfig) *ConfigError {
	t.Helper()
	r, err := synth.Run(func(ctx *pulumi.Context) error { _, err := Deploy(ctx); return err }, cfg)
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("want a configuration error, got %v", err)
	}
	if r != nil && len(r.Resources) != 0 {
		t.Errorf("a bad configuration declared %d resources; it must declare none", len(r.Resources))
	}
	return ce
}

// Each bad value is reported with its key and a fix, and nothing is created.
func TestBadConfig(t *testing.T) {
	const pem = "-----BEGIN CERTIFICATE-----\nMIIBnotacert\n-----END CERTIFICATE-----\n"
	cases := []struct {
		name      string
		overrides map[string]string
		secretSet func(*synth.StackConfig)
		want      []string // every fragment must appear in one problem line
	}{
		{"missing notification auth", nil, func(c *synth.StackConfig) { delete(c.Config, project+":notificationAuth") },
			[]string{project + ":notificationAuth: is required", "pulumi config set --secret notificationAuth", "--stack dev"}},
		{"notification auth in plain text", nil, func(c *synth.StackConfig) { c.SecretKeys = nil },
			[]string{"notificationAuth: is stored in plain text", "--secret"}},
		{"notification auth not base64 user:password", map[string]string{"notificationAuth": "not-base64!"}, nil,
			[]string{"notificationAuth: is not the base64 encoding", "pulumi config set --secret notificationAuth"}},
		{"notification auth wrapped by base64", map[string]string{"notificationAuth": "cmVnaXN0cnktbm90aWZpZXI6czNjcjN0LVBhNTV3b3Jk\nLWZvci10ZXN0cw=="}, nil,
			[]string{"notificationAuth: contains white space or a line break", "base64 | tr -d '\\n'"}},
		{"missing required key", map[string]string{"registryHost": ""}, nil,
			[]string{project + ":registryHost: is required", "pulumi config set registryHost <registry-host-name> --stack dev"}},
		{"malformed CIDR", map[string]string{"vpcCidr": "172.29.0.0/33"}, nil,
			[]string{"vpcCidr: \"172.29.0.0/33\" is not an IPv4 CIDR block", "pulumi config set vpcCidr"}},
		{"CIDR with host bits", map[string]string{"vpcCidr": "172.29.0.7/24"}, nil,
			[]string{"vpcCidr: \"172.29.0.7/24\" has host bits set", "172.29.0.0/24"}},
		{"CIDR too small", map[string]string{"vpcCidr": "172.29.0.0/26"}, nil,
			[]string{"vpcCidr: \"172.29.0.0/26\" must be between /16 and /24"}},
		{"malformed certificate ARN", map[string]string{"certificateArn": "arn:aws:acm:us-east-1:123:certificate/x"}, nil,
			[]string{"certificateArn: \"arn:aws:acm:us-east-1:123:certificate/x\" is not an ACM certificate ARN"}},
		{"certificate from another region", map[string]string{"certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/0b5e7a51-7c5f-4f1a-9a55-8a0c5ffd1c2a"}, nil,
			[]string{"certificateArn: is in region eu-west-1 but the load balancer is in us-east-1"}},
		{"no certificate source", map[string]string{"hostedZoneName": ""}, nil,
			[]string{"certificateArn: the HTTPS listener needs a certificate", "pulumi config set hostedZoneName"}},
		{"zone does not hold the host", map[string]string{"hostedZoneName": "synapse.org"}, nil,
			[]string{"hostedZoneName: \"synapse.org\" does not contain registryHost \"dev-docker-registry.dev.sagebase.org\""}},
		{"malformed host name", map[string]string{"registryHost": "Docker_Synapse"}, nil,
			[]string{"registryHost: \"Docker_Synapse\" is not a DNS host name"}},
		{"malformed e-mail", map[string]string{"ownerEmail": "synapseeng at sagebase"}, nil,
			[]string{"ownerEmail: \"synapseeng at sagebase\" is not an e-mail address"}},
		{"malformed alarm e-mail", map[string]string{"alarmEmails": "ok@sagebase.org, Ops <ops@sagebase.org>"}, nil,
			[]string{"alarmEmails: \"Ops <ops@sagebase.org>\" is not an e-mail address", "pulumi config set alarmEmails"}},
		{"alarm e-mail listed twice", map[string]string{"alarmEmails": "ok@sagebase.org,ok@sagebase.org"}, nil,
			[]string{"alarmEmails: lists \"ok@sagebase.org\" twice"}},
		{"realm not https", map[string]string{"tokenRealm": "http://repo-dev.dev.sagebase.org/docker/v1/bearerToken"}, nil,
			[]string{"tokenRealm: \"http://repo-dev.dev.sagebase.org/docker/v1/bearerToken\" must use https", "pulumi config set tokenRealm https://<synapse-repo-host>/docker/v1/bearerToken --stack dev"}},
		{"listener over http", map[string]string{"notificationUrl": "http://repo-dev.dev.sagebase.org/dockerRegistryListener/v1/events"}, nil,
			[]string{"notificationUrl: \"http://repo-dev.dev.sagebase.org/dockerRegistryListener/v1/events\" must use https"}},
		{"listener URL with credentials", map[string]string{"notificationUrl": "https://user:pw@repo-dev.dev.sagebase.org/dockerRegistryListener/v1/events"}, nil,
			[]string{"notificationUrl: must not carry credentials in the URL"}},
		{"invalid PEM", map[string]string{"tokenSigningCertificates": pem}, nil,
			[]string{"tokenSigningCertificates: certificate 1 cannot be parsed"}},
		{"no PEM at all", map[string]string{"tokenSigningCertificates": "hello"}, nil,
			[]string{"tokenSigningCertificates: holds no PEM certificate", `pulumi config set tokenSigningCertificates --stack dev -- "$(cat token-signing.pem)"`}},
		{"private key instead of certificate", map[string]string{"tokenSigningCertificates": "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"}, nil,
			[]string{"is a \"EC PRIVATE KEY\", not a CERTIFICATE", "never be given to the registry"}},
		{"min above max", map[string]string{"minCount": "5", "maxCount": "2", "desiredCount": "3"}, nil,
			[]string{"minCount: 5 is greater than maxCount 2"}},
		{"desired outside range", map[string]string{"desiredCount": "9"}, nil,
			[]string{"desiredCount: 9 is outside minCount..maxCount (1..2)"}},
		{"unknown architecture", map[string]string{"architecture": "ARM32"}, nil,
			[]string{"architecture: \"ARM32\" is not one of ARM64, X86_64"}},
		{"cpu/memory pair Fargate lacks", map[string]string{"cpu": "256", "memory": "4096"}, nil,
			[]string{"memory: 4096 MiB is not offered by Fargate with cpu 256 (allowed: 512 to 2048 MiB"}},
		{"cpu Fargate lacks", map[string]string{"cpu": "3000"}, nil,
			[]string{"cpu: 3000 is not a Fargate CPU size"}},
		{"log retention CloudWatch rejects", map[string]string{"logRetentionDays": "42"}, nil,
			[]string{"logRetentionDays: 42 is not a retention CloudWatch Logs accepts"}},
		{"image by tag", map[string]string{"image": "registry:3.1.1"}, nil,
			[]string{"image: \"registry:3.1.1\" is not an image reference pinned by digest"}},
		{"bad bucket name", map[string]string{"existingBucketName": "Bad_Bucket"}, nil,
			[]string{"existingBucketName: \"Bad_Bucket\" is not a valid S3 bucket name"}},
		{"alias without zone", map[string]string{"createDnsRecord": "true", "hostedZoneName": "", "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0b5e7a51-7c5f-4f1a-9a55-8a0c5ffd1c2a"}, nil,
			[]string{"createDnsRecord: is true but hostedZoneName is not set"}},
		{"region", map[string]string{"aws:region": "moon-1"}, nil,
			[]string{"aws:region: \"moon-1\" is not an AWS region"}},
		{"NAT strategy", map[string]string{"natGateways": "None"}, nil,
			[]string{"natGateways: \"None\" is not one of OnePerAz, Single"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loadStack(t, "dev", tc.overrides)
			if tc.secretSet != nil {
				tc.secretSet(cfg)
			}
			ce := expectConfigError(t, cfg)
			msg := ce.Error()
			found := false
			for _, p := range ce.Problems {
				all := true
				for _, w := range tc.want {
					all = all && strings.Contains(p, w)
				}
				found = found || all
			}
			if !found {
				t.Errorf("no problem line contains all of %q:\n%s", tc.want, msg)
			}
			if !strings.Contains(msg, "nothing was created") {
				t.Errorf("the error must say nothing was created:\n%s", msg)
			}
		})
	}
}

// Every problem is reported in one go, not one per run.
func TestBadConfigReportsEveryProblemAtOnce(t *testing.T) {
	cfg := loadStack(t, "prod", map[string]string{
		"vpcCidr": "10.0.0.0/8", "ownerEmail": "nobody", "minCount": "1", "architecture": "MIPS", "cpu": "512", "memory": "512",
	})
	delete(cfg.Config, project+":notificationAuth")
	ce := expectConfigError(t, cfg)
	for _, key := range []string{"vpcCidr", "ownerEmail", "minCount", "architecture", "memory", "notificationAuth"} {
		found := false
		for _, p := range ce.Problems {
			found = found || strings.HasPrefix(p, project+":"+key+":")
		}
		if !found {
			t.Errorf("problem with %s not reported:\n%s", key, ce.Error())
		}
	}
	// prod is protected: one task is not enough.
	if !strings.Contains(ce.Error(), "minCount: is 1 but a protected (production) stack runs at least two tasks") {
		t.Errorf("protected stack with one task accepted:\n%s", ce.Error())
	}
}

// The committed stack files are valid and carry Synapse's values.
func TestStackFilesCarrySynapseValues(t *testing.T) {
	want := map[string]map[string]string{
		"dev": {
			"registryHost": "dev-docker-registry.dev.sagebase.org", "vpcCidr": "172.29.0.0/24",
			"tokenRealm":         "https://repo-dev.dev.sagebase.org/docker/v1/bearerToken",
			"notificationUrl":    "https://repo-dev.dev.sagebase.org/dockerRegistryListener/v1/events",
			"existingBucketName": "dev-docker-registry.sagebase.org", "tokenIssuer": "www.synapse.org",
		},
		"prod": {
			"registryHost": "docker.synapse.org", "vpcCidr": "172.29.1.0/24",
			"tokenRealm":         "https://repo-prod.prod.sagebase.org/docker/v1/bearerToken",
			"notificationUrl":    "https://repo-prod.prod.sagebase.org/dockerRegistryListener/v1/events",
			"existingBucketName": "prod.docker.registry.sagebase.org", "tokenIssuer": "www.synapse.org",
		},
	}
	for stack, values := range want {
		cfg := loadStack(t, stack, nil)
		for k, v := range values {
			if got := cfg.Config[project+":"+k]; got != v {
				t.Errorf("%s %s = %q, want %q", stack, k, got, v)
			}
		}
		pem, err := os.ReadFile(filepath.Join("..", "..", "shared", "synapse", "token-signing-"+stack+".pem"))
		if err == nil && strings.TrimSpace(cfg.Config[project+":tokenSigningCertificates"]) != strings.TrimSpace(string(pem)) {
			t.Errorf("%s signing certificate differs from Synapse's token-signing-%s.pem", stack, stack)
		}
		raw, err := os.ReadFile(filepath.Join("..", "Pulumi."+stack+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		// The secret may only ever be committed encrypted (`secure:`), never as a value.
		if m := regexp.MustCompile(`(?m)^\s*` + project + `:notificationAuth:(.*)$`).FindStringSubmatch(string(raw)); m != nil && !strings.Contains(m[1], "secure") {
			t.Errorf("Pulumi.%s.yaml holds notificationAuth in plain text", stack)
		}
	}
}

// As `pulumi preview` sees a stack whose notification secret is not set yet: the CLI's own
// validation lets the program run (Pulumi.yaml gives the key an empty default), and the program
// fails naming the key and the exact command that sets it.
func TestPreviewWithoutNotificationSecretNamesTheCommand(t *testing.T) {
	for _, stack := range stacks {
		cfg, _, err := synth.LoadStack("..", stack, synth.LoadOptions{Strict: true})
		if err != nil {
			t.Fatalf("the CLI's validation must let the program report the missing secret: %v", err)
		}
		ce := expectConfigError(t, cfg)
		want := `pulumi config set --secret notificationAuth "$(printf '%s' '<user>:<password>' | base64 | tr -d '\n')" --stack ` + stack
		if len(ce.Problems) != 1 || !strings.Contains(ce.Problems[0], project+":notificationAuth: is required") || !strings.Contains(ce.Problems[0], want) {
			t.Errorf("stack %s: want only the missing notificationAuth with %q, got:\n%s", stack, want, ce.Error())
		}
	}
}

// editedStack copies the project file and a stack file into a directory, edits the stack file
// and loads it as the CLI would (strict: a declared secret that is not set stays unset).
func editedStack(t *testing.T, stack string, edit func(string) string) *synth.StackConfig {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"Pulumi.yaml", "Pulumi." + stack + ".yaml"} {
		b, err := os.ReadFile(filepath.Join("..", name))
		if err != nil {
			t.Fatal(err)
		}
		if name != "Pulumi.yaml" {
			b = []byte(edit(string(b)))
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, _, err := synth.LoadStack(dir, stack, synth.LoadOptions{Strict: true})
	if err != nil {
		t.Fatalf("the CLI's validation must let the program report every problem: %v", err)
	}
	return cfg
}

// stackWithLines is the stack with lines added to its config, its secret set.
func stackWithLines(t *testing.T, stack string, lines ...string) *synth.StackConfig {
	t.Helper()
	cfg := editedStack(t, stack, func(s string) string {
		return strings.Replace(s, "\nconfig:\n", "\nconfig:\n  "+strings.Join(lines, "\n  ")+"\n", 1)
	})
	cfg.Config[project+":notificationAuth"] = testNotificationAuth
	cfg.SecretKeys = append(cfg.SecretKeys, project+":notificationAuth")
	return cfg
}

// A misspelt key in a stack file is reported with the key it resembles, not silently ignored
// while the default stays in force.
func TestUnknownStackKeysNameTheKeyTheyResemble(t *testing.T) {
	cfg := stackWithLines(t, "dev",
		project+":tokenRelam: https://repo-dev.dev.sagebase.org/docker/v1/bearerToken",
		"aws:regoin: us-west-2",
		"aws:profile: synapse-dev",
		project+":somethingElseEntirely: x",
		"pulumi:tags: {team: platform}")
	ce := expectConfigError(t, cfg)
	want := []string{
		project + ":tokenRelam: is not a setting of this project (Pulumi.yaml declares every key); did you mean " + project + ":tokenRealm?",
		"aws:regoin: is not a setting of the aws provider; did you mean aws:region?",
		"aws:profile: is ignored: the program's AWS provider is explicit",
		project + ":somethingElseEntirely: is not a setting of this project (Pulumi.yaml declares every key); the program ignores it",
	}
	for _, w := range want {
		found := false
		for _, p := range ce.Problems {
			found = found || strings.HasPrefix(p, w)
		}
		if !found {
			t.Errorf("no problem starts with %q:\n%s", w, ce.Error())
		}
	}
	if len(ce.Problems) != len(want) {
		t.Errorf("want exactly %d problems (pulumi:tags is legitimate), got:\n%s", len(want), ce.Error())
	}
	if !strings.Contains(ce.Error(), "pulumi config rm aws:regoin --stack dev") {
		t.Errorf("the fix must name the command that removes the key:\n%s", ce.Error())
	}
}

// What the Pulumi CLI would have refused on its own before the program ran — a missing required
// key, a value of the wrong type, the secret in plain text — is reported together with the
// program's own checks, in one message, each with its fix.
func TestProblemsTheCLIWouldRaiseFirstAreReportedTogether(t *testing.T) {
	cfg := editedStack(t, "dev", func(s string) string {
		s = regexp.MustCompile(`(?m)^  `+project+`:costCenter:.*\n`).ReplaceAllString(s, "")
		s = strings.Replace(s, project+":cpu: 1024", project+":cpu: lots", 1)
		s = strings.Replace(s, project+":accessLogs: false", project+":accessLogs: nope", 1)
		s = strings.Replace(s, project+":vpcCidr: 172.29.0.0/24", project+":vpcCidr: 10.0.0.0/8", 1)
		return strings.Replace(s, "\nconfig:\n", "\nconfig:\n  "+project+":notificationAuth: "+testNotificationAuth+"\n", 1)
	})
	ce := expectConfigError(t, cfg)
	for _, want := range []string{
		project + ":costCenter: is required; set it with: pulumi config set costCenter",
		project + `:cpu: "lots" is not an integer; set it with: pulumi config set cpu`,
		project + `:accessLogs: "nope" is not true or false; set it with: pulumi config set accessLogs true --stack dev`,
		project + ":notificationAuth: is stored in plain text; it must be encrypted. Set it again with: pulumi config set --secret notificationAuth",
		project + `:vpcCidr: "10.0.0.0/8" must be between /16 and /24`,
	} {
		found := false
		for _, p := range ce.Problems {
			found = found || strings.HasPrefix(p, want)
		}
		if !found {
			t.Errorf("no problem starts with %q:\n%s", want, ce.Error())
		}
	}
}

// Pulumi.yaml is the schema the program checks: each key's default gives its type, and a
// "Required" key left empty is reported missing.
func TestProgramChecksEachKeyAsPulumiYAMLDeclaresIt(t *testing.T) {
	var proj struct {
		Config map[string]struct {
			Description string `yaml:"description"`
			Default     any    `yaml:"default"`
		} `yaml:"config"`
	}
	if err := readYAML(filepath.Join("..", "Pulumi.yaml"), &proj); err != nil {
		t.Fatal(err)
	}
	for key, decl := range proj.Config {
		var bad, want string
		switch v := decl.Default.(type) {
		case int:
			bad, want = "1x", `"1x" is not an integer`
		case bool:
			bad, want = "yes please", `"yes please" is not true or false`
		case string:
			if v != "" || !strings.HasPrefix(decl.Description, "Required") || key == "notificationAuth" {
				continue
			}
			bad, want = "", "is required"
		}
		t.Run(key, func(t *testing.T) {
			cfg := loadStack(t, "dev", nil)
			cfg.Config[project+":"+key] = bad
			ce := expectConfigError(t, cfg)
			found := false
			for _, p := range ce.Problems {
				found = found || strings.HasPrefix(p, project+":"+key+": "+want)
			}
			if !found {
				t.Errorf("%s = %q: want %q, got:\n%s", key, bad, want, ce.Error())
			}
		})
	}
}

// A fix hint never points one stack at another's resources: on each stack, no suggested command
// carries a value (host, realm, listener, bucket, zone, CIDR) that only the other stack has.
func TestFixHintsNeverSuggestAnotherStacksValues(t *testing.T) {
	keys := []string{"registryHost", "tokenRealm", "notificationUrl", "existingBucketName", "hostedZoneName", "vpcCidr"}
	for stack, other := range map[string]string{"dev": "prod", "prod": "dev"} {
		own, theirs := loadStack(t, stack, nil), loadStack(t, other, nil)
		for _, overrides := range []map[string]string{
			// Every key missing or malformed: hints fall back to placeholders.
			{"registryHost": "", "tokenRealm": "", "notificationUrl": "", "vpcCidr": "", "existingBucketName": "Bad_Bucket", "hostedZoneName": "", "createDnsRecord": "true"},
			// Malformed values beside a valid host: hints use the stack's own values.
			{"tokenRealm": "http://x.example.org/t", "notificationUrl": "ftp://x.example.org/e", "vpcCidr": "10.1.2.3/24", "hostedZoneName": "example.org"},
		} {
			cfg := loadStack(t, stack, overrides)
			ce := expectConfigError(t, cfg)
			for _, k := range keys {
				v := theirs.Config[project+":"+k]
				if v == "" || v == own.Config[project+":"+k] {
					continue
				}
				for _, p := range ce.Problems {
					if strings.Contains(p, " "+v+" ") {
						t.Errorf("stack %s: a hint suggests %s's %s %q:\n%s", stack, other, k, v, p)
					}
				}
			}
		}
	}
	// The zone hint is derived from the stack's own registryHost.
	ce := expectConfigError(t, loadStack(t, "dev", map[string]string{"hostedZoneName": "example.org"}))
	if !strings.Contains(ce.Error(), "pulumi config set hostedZoneName dev.sagebase.org --stack dev") {
		t.Errorf("want the zone of dev's own registryHost suggested:\n%s", ce.Error())
	}
}
