// Package registryconfig turns the image's documented environment variables into a
// distribution (registry 3) configuration, the files it needs (a fresh TLS key and
// certificate, the token-signing certificate bundle and a JWKS that carries Synapse's
// libtrust-style key ids) and the command that starts the registry.
//
// The package is linked into the Pulumi program (the infrastructure tests assert that
// the ECS task definition feeds exactly the variables listed by Variables), so it only
// imports the standard library and gopkg.in/yaml.v3.
package registryconfig

import "slices"

// Prefix starts every variable the entrypoint reads. It is not REGISTRY_ because the
// registry itself treats REGISTRY_* variables as configuration overrides.
const Prefix = "SYNAPSE_REGISTRY_"

// Names of the environment variables the entrypoint reads.
const (
	EnvTokenRealm         = "SYNAPSE_REGISTRY_TOKEN_REALM"
	EnvTokenService       = "SYNAPSE_REGISTRY_TOKEN_SERVICE"
	EnvTokenIssuer        = "SYNAPSE_REGISTRY_TOKEN_ISSUER"
	EnvTokenCertificates  = "SYNAPSE_REGISTRY_TOKEN_CERTIFICATES"
	EnvNotificationURL    = "SYNAPSE_REGISTRY_NOTIFICATION_URL"
	EnvNotificationAuth   = "SYNAPSE_REGISTRY_NOTIFICATION_AUTH"
	EnvNotificationEvents = "SYNAPSE_REGISTRY_NOTIFICATION_EVENTS"
	EnvNotificationQueue  = "SYNAPSE_REGISTRY_NOTIFICATION_QUEUE_URL"
	EnvNotificationDLQ    = "SYNAPSE_REGISTRY_NOTIFICATION_DLQ_URL"
	EnvSQSEndpoint        = "SYNAPSE_REGISTRY_SQS_ENDPOINT"
	EnvRelayAddr          = "SYNAPSE_REGISTRY_RELAY_ADDR"
	EnvNotificationRetry  = "SYNAPSE_REGISTRY_NOTIFICATION_RETRY"
	EnvHTTPSecret         = "SYNAPSE_REGISTRY_HTTP_SECRET"
	EnvStorage            = "SYNAPSE_REGISTRY_STORAGE"
	EnvS3Bucket           = "SYNAPSE_REGISTRY_S3_BUCKET"
	EnvS3Region           = "SYNAPSE_REGISTRY_S3_REGION"
	EnvS3Endpoint         = "SYNAPSE_REGISTRY_S3_ENDPOINT"
	EnvFilesystemRoot     = "SYNAPSE_REGISTRY_FILESYSTEM_ROOT"
	EnvRedirect           = "SYNAPSE_REGISTRY_REDIRECT"
	EnvListenAddr         = "SYNAPSE_REGISTRY_LISTEN_ADDR"
	EnvHealthAddr         = "SYNAPSE_REGISTRY_HEALTH_ADDR"
	EnvScratchDir         = "SYNAPSE_REGISTRY_SCRATCH_DIR"
	EnvBinary             = "SYNAPSE_REGISTRY_BINARY"
	EnvLogLevel           = "SYNAPSE_REGISTRY_LOG_LEVEL"
)

// Values of SYNAPSE_REGISTRY_STORAGE.
const (
	StorageS3         = "s3"
	StorageFilesystem = "filesystem"
)

// Values of SYNAPSE_REGISTRY_NOTIFICATION_EVENTS.
const (
	// EventsSynapse sends only what Synapse uses: manifest pushes.
	EventsSynapse = "synapse"
	// EventsAll sends every event the registry emits (pulls, blob pushes, mounts);
	// for measurements only: Synapse answers some of them with an error.
	EventsAll = "all"
)

// Variable describes one environment variable of the image.
type Variable struct {
	// Name is the environment variable's name.
	Name string
	// Required is true when the entrypoint refuses to start without the variable
	// (only while RequiredWhen holds, if RequiredWhen is set).
	Required bool
	// RequiredWhen, when not empty, is the condition NAME=value under which a
	// Required variable is required, e.g. "SYNAPSE_REGISTRY_STORAGE=s3".
	RequiredWhen string
	// Secret is true for values that must come from a secret store (Secrets
	// Manager), never from plain task-definition environment. The entrypoint
	// removes them from the registry's environment.
	Secret bool
	// Default is the value used when the variable is unset or empty.
	Default string
	// Values, when not empty, are the only values the variable takes (compared
	// case-insensitively): the documented choices. Every one of them starts the
	// real registry (image/values_test.go runs each); anything else is refused.
	Values []string
	// Refused maps values someone may reasonably try, which the registry itself
	// refuses at start (the task would restart in a loop), to the fix; the
	// entrypoint refuses them first with exit code 2 and that fix.
	Refused map[string]string
	// Description says what the variable is, in one or two sentences.
	Description string
}

var variables = []Variable{
	{Name: EnvTokenRealm, Required: true,
		Description: "Synapse's bearer-token endpoint (an https URL) that docker clients are sent to, e.g. `https://repo-prod.prod.sagebase.org/docker/v1/bearerToken`."},
	{Name: EnvTokenService, Required: true,
		Description: "The registry's public host name; the `service` of the token challenge and the `aud` Synapse puts in its tokens, e.g. `docker.synapse.org`."},
	{Name: EnvTokenIssuer, Required: true,
		Description: "The `iss` of Synapse's tokens, e.g. `www.synapse.org`."},
	{Name: EnvTokenCertificates, Required: true,
		Description: "PEM bundle of Synapse's token-signing certificate(s), ECDSA P-256. List two during a key rotation. Written as the `rootcertbundle` and as a JWKS whose keys carry the libtrust-style `kid` Synapse signs with and the RFC 7638 thumbprint."},
	{Name: EnvNotificationURL, Required: true,
		Description: "Synapse's registry-event listener, e.g. `https://repo-prod.prod.sagebase.org/dockerRegistryListener/v1/events`."},
	{Name: EnvNotificationAuth, Required: true, Secret: true,
		Description: "base64 of `user:password`; every notification carries `Authorization: Basic <value>`."},
	{Name: EnvNotificationEvents, Default: EventsSynapse, Values: []string{EventsSynapse, EventsAll},
		Description: "`synapse`: send only manifest pushes, the one event Synapse uses (no pulls, no blob pushes, no mounts, never a delete). `all`: send every event (measurements only)."},
	{Name: EnvNotificationQueue,
		Description: "SQS queue URL. When set, the registry's events go to a relay in the task that enqueues them durably and delivers them to Synapse from the queue (OCI and manifest-list pushes mapped so Synapse records them, retried with backoff, dead-lettered after repeated failure; docs/synapse.md). Empty: the registry notifies Synapse directly from memory (local runs only)."},
	{Name: EnvNotificationDLQ,
		Description: "SQS dead-letter queue URL of the notification queue, required with `SYNAPSE_REGISTRY_NOTIFICATION_QUEUE_URL`; the relay moves events Synapse can never accept (unknown actions) there at once."},
	{Name: EnvSQSEndpoint,
		Description: "SQS-compatible endpoint URL for tests and local runs. Empty uses AWS."},
	{Name: EnvRelayAddr, Default: "127.0.0.1:5004",
		Description: "Loopback address the notification relay listens on for the registry's events."},
	{Name: EnvNotificationRetry, Default: "10s",
		Description: "First wait before the relay retries a delivery Synapse failed (a Go duration, whole seconds); it doubles per attempt up to 15 minutes."},
	{Name: EnvHTTPSecret, Required: true, Secret: true,
		Description: "Signs upload state (`http.secret`); at least 32 characters and the same in every task, or uploads that hop between tasks fail."},
	{Name: EnvStorage, Default: StorageS3, Values: []string{StorageS3, StorageFilesystem},
		Description: "`s3` (image data in S3 through the default AWS credential chain: the ECS task role, no keys) or `filesystem` (local runs)."},
	{Name: EnvS3Bucket, Required: true, RequiredWhen: EnvStorage + "=" + StorageS3,
		Description: "S3 bucket that holds the image data. Names with dots are addressed path-style (virtual-hosted style breaks TLS for them)."},
	{Name: EnvS3Region, Required: true, RequiredWhen: EnvStorage + "=" + StorageS3,
		Description: "AWS region of the bucket, e.g. `us-east-1`."},
	{Name: EnvS3Endpoint,
		Description: "S3-compatible endpoint URL for tests and local runs; implies path-style addressing. Empty uses AWS."},
	{Name: EnvFilesystemRoot, Required: true, RequiredWhen: EnvStorage + "=" + StorageFilesystem,
		Description: "Absolute directory for image data when storage is `filesystem`."},
	{Name: EnvRedirect, Default: "true", Values: []string{"true", "false"},
		Description: "`true`: blob downloads are redirected to pre-signed S3 URLs, so image data does not pass through the task. `false`: the registry streams blobs itself."},
	{Name: EnvListenAddr, Default: ListenAddr,
		Description: "HTTPS listen address of the registry API (the load balancer's target port)."},
	{Name: EnvHealthAddr, Default: HealthAddr,
		Description: "Plain-HTTP listen address of the registry's debug server: health at `/debug/health` (includes the storage-driver check), Prometheus metrics at `/metrics`. For load-balancer health checks only; never route traffic to it."},
	{Name: EnvScratchDir, Default: ScratchPath,
		Description: "Writable directory for the generated TLS key and certificate, configuration, certificate bundle and JWKS (directory 0700, files 0600); the only path the task writes."},
	{Name: EnvBinary, Default: "/bin/registry",
		Description: "Registry binary to exec (the one this image builds, over the release's)."},
	// The registry's configuration takes exactly these four levels (distribution
	// v3.1.2 configuration.Loglevel.UnmarshalYAML: "invalid loglevel trace").
	{Name: EnvLogLevel, Default: "info", Values: []string{"error", "warn", "info", "debug"},
		Refused: map[string]string{
			"trace":   "registry 3 has no trace level and would not start; use debug, its most verbose level",
			"warning": "the registry spells it warn and would not start; use warn",
			"fatal":   "the registry has no fatal level and would not start; use error",
			"panic":   "the registry has no panic level and would not start; use error",
		},
		Description: "Registry log level: `error`, `warn`, `info` or `debug` (the most verbose: registry 3 has no trace level, and the entrypoint refuses one). Logs are JSON."},
}

// Variables lists every environment variable the entrypoint reads, in documentation
// order. The returned slice is a copy.
func Variables() []Variable {
	return slices.Clone(variables)
}

// Lookup returns the variable with the given name.
func Lookup(name string) (Variable, bool) {
	i := slices.IndexFunc(variables, func(v Variable) bool { return v.Name == name })
	if i < 0 {
		return Variable{}, false
	}
	return variables[i], true
}

// RequiredVariables lists the variables that must be set for the given storage
// (StorageS3 or StorageFilesystem): the ones that are required unconditionally
// and the ones required with that storage.
func RequiredVariables(storage string) []Variable {
	var out []Variable
	for _, v := range variables {
		if !v.Required {
			continue
		}
		if v.RequiredWhen == "" || v.RequiredWhen == EnvStorage+"="+storage {
			out = append(out, v)
		}
	}
	return out
}

// SecretVariables lists the variables whose values are secrets.
func SecretVariables() []Variable {
	var out []Variable
	for _, v := range variables {
		if v.Secret {
			out = append(out, v)
		}
	}
	return out
}
