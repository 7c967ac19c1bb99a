package infra

// Environment variables of the registry image's entrypoint (image/README.md).
const (
	EnvTokenRealm        = "SYNAPSE_REGISTRY_TOKEN_REALM"
	EnvTokenService      = "SYNAPSE_REGISTRY_TOKEN_SERVICE"
	EnvTokenIssuer       = "SYNAPSE_REGISTRY_TOKEN_ISSUER"
	EnvTokenCertificates = "SYNAPSE_REGISTRY_TOKEN_CERTIFICATES"
	EnvNotificationURL   = "SYNAPSE_REGISTRY_NOTIFICATION_URL"
	EnvNotificationAuth  = "SYNAPSE_REGISTRY_NOTIFICATION_AUTH"
	EnvHTTPSecret        = "SYNAPSE_REGISTRY_HTTP_SECRET"
	EnvStorage           = "SYNAPSE_REGISTRY_STORAGE"
	EnvS3Bucket          = "SYNAPSE_REGISTRY_S3_BUCKET"
	EnvS3Region          = "SYNAPSE_REGISTRY_S3_REGION"
	EnvListenAddr        = "SYNAPSE_REGISTRY_LISTEN_ADDR"
	EnvHealthAddr        = "SYNAPSE_REGISTRY_HEALTH_ADDR"
	EnvScratchDir        = "SYNAPSE_REGISTRY_SCRATCH_DIR"
)
