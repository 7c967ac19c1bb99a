package infra

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Keys of the JSON secret; the task definition injects each one by key.
const (
	SecretKeyNotificationAuth = "notification_auth"
	SecretKeyHTTPSecret       = "http_secret"
)

// httpSecretBytes is the entropy of the registry's http.secret, which signs upload state that
// every task must verify (uploads hop between tasks behind the load balancer).
const httpSecretBytes = 32

// RegistrySecrets is the one Secrets Manager secret of the stack.
type RegistrySecrets struct {
	Arn pulumi.StringOutput
	// Version is the secret's current value; tasks must not start before it exists.
	Version *secretsmanager.SecretVersion
	// VersionID changes whenever the value does.
	VersionID pulumi.StringOutput
}

// newRegistrySecrets stores notification_auth (from config) and http_secret (generated once; the
// random resource keeps it stable across updates) in one JSON secret. The value exists only as
// Pulumi secret outputs (encrypted in state) and in Secrets Manager, never in the task's plain
// environment.
func newRegistrySecrets(s *scope) (*RegistrySecrets, error) {
	httpSecret, err := random.NewRandomBytes(s.ctx, s.name("http-secret"), &random.RandomBytesArgs{
		Length: pulumi.Int(httpSecretBytes),
	}, s.opts("http-secret")...)
	if err != nil {
		return nil, err
	}
	secret, err := secretsmanager.NewSecret(s.ctx, s.name("registry"), &secretsmanager.SecretArgs{
		Description: pulumi.String(fmt.Sprintf("docker registry %s (%s): Synapse notification auth and the shared http.secret", s.cfg.Registry.Host, s.cfg.Stack)),
		// Gives a window to restore the secret after an accidental deletion.
		RecoveryWindowInDays: pulumi.Int(30),
		// Protected stacks: protect stops a destroy; retainOnDelete keeps the secret (Synapse shares
		// its notification password) after an unprotect and destroy, or when a project rename
		// gives it a new URN and the old one leaves the state.
	}, s.opts("registry", pulumi.Protect(s.cfg.Protect), pulumi.RetainOnDelete(s.cfg.Protect))...)
	if err != nil {
		return nil, err
	}
	value := resolveNamed(secretInputs{NotificationAuth: s.cfg.Registry.NotificationAuth, HTTPSecret: httpSecret.Base64}, func(v secretValues) (string, error) {
		b, err := json.Marshal(map[string]string{
			SecretKeyNotificationAuth: v.NotificationAuth,
			SecretKeyHTTPSecret:       v.HTTPSecret,
		})
		return string(b), err
	})
	version, err := secretsmanager.NewSecretVersion(s.ctx, s.name("registry-secret-value"), &secretsmanager.SecretVersionArgs{
		SecretId:     secret.ID(),
		SecretString: pulumi.ToSecret(value).(pulumi.StringOutput),
	}, s.opts("registry-secret-value")...)
	if err != nil {
		return nil, err
	}
	return &RegistrySecrets{Arn: secret.Arn, Version: version, VersionID: version.VersionId}, nil
}

// secretInputs are the secret's two keys, resolved into secretValues (see resolveNamed).
type secretInputs struct{ NotificationAuth, HTTPSecret pulumi.StringInput }

type secretValues struct{ NotificationAuth, HTTPSecret string }

func (secretInputs) ElementType() reflect.Type { return reflect.TypeFor[secretValues]() }
