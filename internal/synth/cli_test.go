package synth

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const cliProject = `name: proj
runtime: go
config:
  retention:
    type: integer
    default: 30
  notificationAuth:
    type: string
    secret: true
`

// cliProgram reads config the way the infra program does and registers a
// provider, a log group and a secret built from the secret config value.
func cliProgram(ctx *pulumi.Context) error {
	var p provider
	if err := ctx.RegisterResource("pulumi:providers:aws", "aws", pulumi.Map{
		"region": pulumi.String(require(ctx, "aws:region")),
	}, &p); err != nil {
		return err
	}
	if !ctx.IsConfigSecret("proj:notificationAuth") {
		return errors.New("notificationAuth must be a secret")
	}
	var lg, sv custom
	if err := ctx.RegisterResource("aws:cloudwatch/logGroup:LogGroup", "registry", pulumi.Map{
		"retentionInDays": pulumi.String(require(ctx, "retention")),
	}, &lg, pulumi.Provider(&p)); err != nil {
		return err
	}
	return ctx.RegisterResource("aws:secretsmanager/secretVersion:SecretVersion", "registry", pulumi.Map{
		"secretString": requireSecret(ctx, "notificationAuth"),
	}, &sv, pulumi.Provider(&p))
}

var cliPlaceholders = map[string]string{"notificationAuth": "c3ludGg6cGxhY2Vob2xkZXI="}

func runMain(t *testing.T, program func(*pulumi.Context) error, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(args, program, cliPlaceholders, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestMainWritesJSONAndSummaryWithoutSecrets(t *testing.T) {
	const realCiphertext = "v1:c2VjcmV0LWNpcGhlcnRleHQ=:dGhpcyB3b3VsZCBiZSB0aGUgcmVhbCBzZWNyZXQ="
	dir := writeProject(t, cliProject, map[string]string{
		"prod": "config:\n  aws:region: us-east-1\n  proj:retention: 365\n  proj:notificationAuth:\n    secure: " + realCiphertext + "\n",
	})
	out := filepath.Join(t.TempDir(), "build", "synth")
	code, stdout, stderr := runMain(t, cliProgram, "-stack", "prod", "-dir", dir, "-out", out)
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	data, err := os.ReadFile(filepath.Join(out, "prod.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{string(data), stdout, stderr} {
		for _, secret := range []string{realCiphertext, "c3ludGg6cGxhY2Vob2xkZXI="} {
			if strings.Contains(s, secret) {
				t.Errorf("output contains %q:\n%s", secret, s)
			}
		}
	}
	if !strings.Contains(string(data), `"secretString": "[secret]"`) || !strings.Contains(string(data), `"retentionInDays": "365"`) {
		t.Errorf("JSON:\n%s", data)
	}
	for _, s := range []string{"stack prod: 3 resources", "aws:cloudwatch:LogGroup", "retentionInDays=365", "wrote " + filepath.Join(out, "prod.json")} {
		if !strings.Contains(stdout, s) {
			t.Errorf("stdout lacks %q:\n%s", s, stdout)
		}
	}
	if stderr != "" {
		t.Errorf("stderr = %q", stderr)
	}

	// -quiet: the JSON, no summary.
	code, stdout, _ = runMain(t, cliProgram, "-stack", "prod", "-dir", dir, "-out", out, "-quiet")
	if code != 0 || strings.Contains(stdout, "LogGroup") {
		t.Errorf("-quiet: exit %d, stdout %q", code, stdout)
	}
}

func TestMainMissingSecretWarnsOrFailsWithStrict(t *testing.T) {
	dir := writeProject(t, cliProject, map[string]string{"dev": "config:\n  aws:region: us-east-1\n"})
	out := t.TempDir()

	code, _, stderr := runMain(t, cliProgram, "-stack", "dev", "-dir", dir, "-out", out)
	if code != 0 || !strings.Contains(stderr,
		"warning: config key 'notificationAuth' is declared secret in Pulumi.yaml but Pulumi.dev.yaml sets no value; using a placeholder. "+
			"Set it with: pulumi config set --secret notificationAuth <value> --stack dev") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}

	code, _, stderr = runMain(t, cliProgram, "-stack", "dev", "-dir", dir, "-out", out, "-strict")
	if want := "error: validating stack config: Stack 'dev' is missing configuration value 'notificationAuth'\n"; code != 1 || stderr != want {
		t.Errorf("-strict: exit %d, stderr %q, want %q", code, stderr, want)
	}
}

func TestMainProgramErrorReadsLikePreview(t *testing.T) {
	dir := writeProject(t, cliProject, map[string]string{"dev": "config:\n  aws:region: us-east-1\n"})
	code, _, stderr := runMain(t, func(ctx *pulumi.Context) error {
		return errors.New("stack dev: cpu 3 is not a Fargate CPU size")
	}, "-stack", "dev", "-dir", dir, "-out", t.TempDir())
	want := "error: an unhandled error occurred: program failed:\n1 error occurred:\n\t* stack dev: cpu 3 is not a Fargate CPU size\n"
	if code != 1 || !strings.HasSuffix(stderr, want) {
		t.Errorf("exit %d, stderr %q\nwant suffix %q", code, stderr, want)
	}
}

func TestMainUsage(t *testing.T) {
	if code, _, stderr := runMain(t, cliProgram); code != 2 || !strings.Contains(stderr, "usage: synth -stack") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
