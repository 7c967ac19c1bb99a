package infra

import (
	"fmt"
	"strings"
	"testing"
)

func TestSecrets(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		rb := r.one(t, tRandomBytes, "http-secret")
		expectLike(t, "httpSecret", rb.Inputs, map[string]any{
			"length": satisfies("at least 32 random bytes", func(v any) bool { n, ok := number(v); return ok && n >= 32 }),
		})
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
