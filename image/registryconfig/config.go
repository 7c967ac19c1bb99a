package registryconfig

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Storage sizing, chosen for Synapse's documented limit of 100 GB per layer.
// image/README.md explains the choices; tests check the arithmetic.
const (
	// MaxLayerSize is the largest layer the configuration is sized for: Synapse
	// documents 100 GB per layer; 100 GiB is the stricter reading.
	MaxLayerSize = 100 << 30
	// S3MaxParts is S3's limit on the parts of one multipart upload.
	S3MaxParts = 10000
	// S3MinPartSize is S3's (and the driver's) smallest part but the last.
	S3MinPartSize = 5 << 20

	// S3ChunkSize is the part size of blob uploads. 32 MiB parts put a 100 GiB
	// layer at 3,200 parts (limit 10,000: up to 312 GiB per blob).
	S3ChunkSize = 32 << 20
	// S3PartsInFlight is how many parts of one upload the s3-concurrent driver
	// (image/s3concurrent) sends at once, each on its own S3 connection: a
	// layer moves at about 5 connections' rate instead of one's, as the AWS
	// SDKs' upload managers send (their default concurrency is 5). Each upload
	// holds at most S3PartsInFlight + 1 part buffers: 192 MiB at 32 MiB parts
	// (image/README.md).
	S3PartsInFlight = 5
	// S3MultipartCopyChunkSize is the part size of the server-side copy that
	// moves a finished upload to its content address: 800 parts for 100 GiB.
	S3MultipartCopyChunkSize = 128 << 20
	// S3MultipartCopyMaxConcurrency bounds the parallel UploadPartCopy calls of
	// one copy (server-side; no task memory): 100 GiB is copied in 8 waves.
	S3MultipartCopyMaxConcurrency = 100
	// S3MultipartCopyThresholdSize: blobs up to this size are copied with one
	// CopyObject call, larger ones with a parallel multipart copy.
	S3MultipartCopyThresholdSize = 128 << 20
)

// S3 key layout (rootdirectory "/", the registry 2 deployment's), which the image bucket's
// lifecycle rules rely on (infra/storage.go); the e2e test checks it against the registry.
const (
	// S3RepositoriesPrefix holds each repository's links, tags and upload sessions. An upload
	// is written to <prefix><name>/_uploads/<id>/data, then copied to its content address under
	// docker/registry/v2/blobs/ and deleted. Everything else under the prefix (links, tags,
	// upload start times and hash states) is under 1 KiB, so an object over S3UploadDataMinBytes
	// there is upload data, and once deleted (a noncurrent version) a copy of nothing needed.
	S3RepositoriesPrefix = "docker/registry/v2/repositories/"
	S3UploadDataMinBytes = 128 << 10
)

// Notification endpoint settings.
const (
	NotificationEndpointName = "synapse"
	// OctetStreamMediaType is the media type of blob (layer and config) events;
	// manifest events carry the manifest's media type.
	OctetStreamMediaType = "application/octet-stream"
)

// IgnoredActions are the notification actions never sent to Synapse with
// EventsSynapse: Synapse ignores pulls and mounts and answers anything but
// push/pull/mount (e.g. delete) with an error, which the registry would retry
// forever.
var IgnoredActions = []string{"pull", "mount", "delete"}

// Files in the scratch directory.
const (
	TLSKeyFile         = "tls.key"
	TLSCertFile        = "tls.crt"
	RootCertBundleFile = "token-signing.pem"
	JWKSFile           = "token-signing.jwks.json"
	ConfigFile         = "config.yml"
)

// Paths are the files the configuration refers to.
type Paths struct {
	Dir            string
	TLSKey         string
	TLSCert        string
	RootCertBundle string
	JWKS           string
	Config         string
}

// PathsIn returns the file paths inside a scratch directory.
func PathsIn(dir string) Paths {
	return Paths{
		Dir:            dir,
		TLSKey:         filepath.Join(dir, TLSKeyFile),
		TLSCert:        filepath.Join(dir, TLSCertFile),
		RootCertBundle: filepath.Join(dir, RootCertBundleFile),
		JWKS:           filepath.Join(dir, JWKSFile),
		Config:         filepath.Join(dir, ConfigFile),
	}
}

// The registry's configuration (version 0.1), only the parts this image sets.
// Field names follow distribution's configuration package.
type config struct {
	Version       string              `yaml:"version"`
	Log           logConfig           `yaml:"log"`
	Storage       storageConfig       `yaml:"storage"`
	Auth          authConfig          `yaml:"auth"`
	HTTP          httpConfig          `yaml:"http"`
	Notifications notificationsConfig `yaml:"notifications"`
	Health        healthConfig        `yaml:"health"`
	// Middleware: tag listings in name order, the task protection on ECS (middleware.go).
	Middleware map[string][]middlewareConfig `yaml:"middleware,omitempty"`
}

type logConfig struct {
	Level     string            `yaml:"level"`
	Formatter string            `yaml:"formatter"`
	AccessLog accessLogConfig   `yaml:"accesslog"`
	Fields    map[string]string `yaml:"fields"`
}

type accessLogConfig struct {
	Disabled bool `yaml:"disabled"`
}

type storageConfig struct {
	S3          *s3Config         `yaml:"s3-concurrent,omitempty"`
	Filesystem  *filesystemConfig `yaml:"filesystem,omitempty"`
	Cache       map[string]string `yaml:"cache"`
	Redirect    redirectConfig    `yaml:"redirect"`
	Delete      enabledConfig     `yaml:"delete"`
	Maintenance maintenanceConfig `yaml:"maintenance"`
}

type s3Config struct {
	Region                      string `yaml:"region"`
	RegionEndpoint              string `yaml:"regionendpoint,omitempty"`
	ForcePathStyle              bool   `yaml:"forcepathstyle"`
	Bucket                      string `yaml:"bucket"`
	Encrypt                     bool   `yaml:"encrypt"`
	Secure                      bool   `yaml:"secure"`
	V4Auth                      bool   `yaml:"v4auth"`
	ChunkSize                   int64  `yaml:"chunksize"`
	MultipartCopyChunkSize      int64  `yaml:"multipartcopychunksize"`
	MultipartCopyMaxConcurrency int64  `yaml:"multipartcopymaxconcurrency"`
	MultipartCopyThresholdSize  int64  `yaml:"multipartcopythresholdsize"`
	RootDirectory               string `yaml:"rootdirectory"`
	ObjectACL                   string `yaml:"objectacl"`
	PartsInFlight               int    `yaml:"partsinflight"`
}

type filesystemConfig struct {
	RootDirectory string `yaml:"rootdirectory"`
}

type redirectConfig struct {
	Disable bool `yaml:"disable"`
}

type enabledConfig struct {
	Enabled bool `yaml:"enabled"`
}

type maintenanceConfig struct {
	UploadPurging uploadPurgingConfig `yaml:"uploadpurging"`
}

type uploadPurgingConfig struct {
	Enabled  bool   `yaml:"enabled"`
	Age      string `yaml:"age"`
	Interval string `yaml:"interval"`
	DryRun   bool   `yaml:"dryrun"`
}

type authConfig struct {
	Token tokenConfig `yaml:"token"`
}

type tokenConfig struct {
	Realm             string   `yaml:"realm"`
	Service           string   `yaml:"service"`
	Issuer            string   `yaml:"issuer"`
	RootCertBundle    string   `yaml:"rootcertbundle"`
	JWKS              string   `yaml:"jwks"`
	SigningAlgorithms []string `yaml:"signingalgorithms"`
}

type httpConfig struct {
	Addr         string              `yaml:"addr"`
	Secret       string              `yaml:"secret"`
	DrainTimeout string              `yaml:"draintimeout"`
	Headers      map[string][]string `yaml:"headers"`
	TLS          tlsConfig           `yaml:"tls"`
	Debug        debugConfig         `yaml:"debug"`
}

type tlsConfig struct {
	Certificate string `yaml:"certificate"`
	Key         string `yaml:"key"`
	MinimumTLS  string `yaml:"minimumtls"`
}

type debugConfig struct {
	Addr       string           `yaml:"addr"`
	Prometheus prometheusConfig `yaml:"prometheus"`
}

type prometheusConfig struct {
	Enabled bool   `yaml:"enabled"`
	Path    string `yaml:"path"`
}

type notificationsConfig struct {
	Events    eventsConfig     `yaml:"events"`
	Endpoints []endpointConfig `yaml:"endpoints"`
}

type eventsConfig struct {
	IncludeReferences bool `yaml:"includereferences"`
}

type endpointConfig struct {
	Name      string              `yaml:"name"`
	Disabled  bool                `yaml:"disabled"`
	URL       string              `yaml:"url"`
	Headers   map[string][]string `yaml:"headers"`
	Timeout   string              `yaml:"timeout"`
	Threshold int                 `yaml:"threshold"`
	Backoff   string              `yaml:"backoff"`
	Ignore    *ignoreConfig       `yaml:"ignore,omitempty"`
}

type ignoreConfig struct {
	MediaTypes []string `yaml:"mediatypes"`
	Actions    []string `yaml:"actions"`
}

type healthConfig struct {
	StorageDriver storageDriverHealthConfig `yaml:"storagedriver"`
}

type storageDriverHealthConfig struct {
	Enabled   bool   `yaml:"enabled"`
	Interval  string `yaml:"interval"`
	Threshold int    `yaml:"threshold"`
}

// DrainTimeout is how long the registry lets in-flight requests finish after
// SIGTERM. The container's stopTimeout must be longer (the stack sets 120 s).
const DrainTimeout = "90s"

// Health check timing of the storage driver: a task turns unhealthy after
// HealthThreshold failed checks HealthInterval apart.
const (
	HealthInterval  = "10s"
	HealthThreshold = 3
)

// UsePathStyle reports whether S3 requests address the bucket in the path:
// always with a custom endpoint, and for bucket names with dots, whose
// virtual-hosted names (bucket.s3.amazonaws.com) do not match S3's wildcard
// TLS certificate.
func (s *Settings) UsePathStyle() bool {
	return s.S3Endpoint != "" || strings.Contains(s.S3Bucket, ".")
}

// RegistryConfig renders the registry configuration (YAML) for these settings,
// referring to the files in paths.
func (s *Settings) RegistryConfig(paths Paths) ([]byte, error) {
	c := config{
		Version: "0.1",
		Log: logConfig{
			Level:     s.LogLevel,
			Formatter: "json",
			// The access log is Apache text on stdout; the JSON application log
			// already has one "response completed" entry per request.
			AccessLog: accessLogConfig{Disabled: true},
			Fields:    map[string]string{"service": "registry"},
		},
		Storage: storageConfig{
			Cache:    map[string]string{"blobdescriptor": "inmemory"},
			Redirect: redirectConfig{Disable: !s.Redirect},
			Delete:   enabledConfig{Enabled: false},
			Maintenance: maintenanceConfig{UploadPurging: uploadPurgingConfig{
				Enabled: true, Age: "168h", Interval: "24h", DryRun: false,
			}},
		},
		Auth: authConfig{Token: tokenConfig{
			Realm:             s.TokenRealm,
			Service:           s.TokenService,
			Issuer:            s.TokenIssuer,
			RootCertBundle:    paths.RootCertBundle,
			JWKS:              paths.JWKS,
			SigningAlgorithms: []string{"ES256"},
		}},
		HTTP: httpConfig{
			Addr:   s.ListenAddr,
			Secret: s.HTTPSecret,
			// In-flight requests get this long after SIGTERM; below the
			// container's stopTimeout (the stack sets 120 s, Fargate's maximum).
			DrainTimeout: DrainTimeout,
			Headers:      map[string][]string{"X-Content-Type-Options": {"nosniff"}},
			TLS: tlsConfig{
				Certificate: paths.TLSCert,
				Key:         paths.TLSKey,
				MinimumTLS:  "tls1.2",
			},
			Debug: debugConfig{
				Addr:       s.HealthAddr,
				Prometheus: prometheusConfig{Enabled: true, Path: "/metrics"},
			},
		},
		Notifications: notificationsConfig{
			Endpoints: []endpointConfig{{
				Name:      NotificationEndpointName,
				URL:       s.notificationTarget(),
				Headers:   map[string][]string{"Authorization": {"Basic " + s.NotificationAuth}},
				Timeout:   "30s",
				Threshold: 3,
				Backoff:   "30s",
			}},
		},
		Health: healthConfig{StorageDriver: storageDriverHealthConfig{
			Enabled: true, Interval: HealthInterval, Threshold: HealthThreshold,
		}},
		Middleware: s.middleware(),
	}
	if s.NotificationEvents == EventsSynapse {
		c.Notifications.Endpoints[0].Ignore = &ignoreConfig{
			MediaTypes: []string{OctetStreamMediaType},
			Actions:    append([]string(nil), IgnoredActions...),
		}
	}
	switch s.Storage {
	case StorageS3:
		c.Storage.S3 = &s3Config{
			Region:                      s.S3Region,
			RegionEndpoint:              s.S3Endpoint,
			ForcePathStyle:              s.UsePathStyle(),
			Bucket:                      s.S3Bucket,
			Encrypt:                     true,
			Secure:                      !strings.HasPrefix(strings.ToLower(s.S3Endpoint), "http://"),
			V4Auth:                      true,
			ChunkSize:                   S3ChunkSize,
			MultipartCopyChunkSize:      S3MultipartCopyChunkSize,
			MultipartCopyMaxConcurrency: S3MultipartCopyMaxConcurrency,
			MultipartCopyThresholdSize:  S3MultipartCopyThresholdSize,
			// Same keys as the registry 2 deployment (rootdirectory "/"), so an
			// existing bucket's images stay visible.
			RootDirectory: "/",
			// The stack disables ACLs on the bucket (BucketOwnerEnforced); S3 then refuses every
			// PUT carrying an ACL other than this one, and the driver's default is "private".
			ObjectACL:     "bucket-owner-full-control",
			PartsInFlight: S3PartsInFlight,
		}
	case StorageFilesystem:
		c.Storage.Filesystem = &filesystemConfig{RootDirectory: s.FilesystemRoot}
	default:
		return nil, fmt.Errorf("unknown storage %q", s.Storage)
	}
	body, err := yaml.Marshal(&c)
	if err != nil {
		return nil, err
	}
	header := "# Generated by the synapse-docker-registry entrypoint at start; do not edit.\n" +
		"# Holds http.secret and the notification credentials: keep it private (mode 0600).\n"
	return append([]byte(header), body...), nil
}

// TLSHosts are the names the generated TLS certificate is valid for: the
// service's host name, localhost and the loopback addresses, the listen host,
// and extra (e.g. the machine's host name).
func (s *Settings) TLSHosts(extra ...string) []string {
	hosts := []string{}
	add := func(h string) {
		if h == "" {
			return
		}
		for _, x := range hosts {
			if x == h {
				return
			}
		}
		hosts = append(hosts, h)
	}
	if h, _, err := net.SplitHostPort(s.TokenService); err == nil {
		add(h)
	} else {
		add(s.TokenService)
	}
	add("localhost")
	add("127.0.0.1")
	add("::1")
	if h, _, err := net.SplitHostPort(s.ListenAddr); err == nil {
		add(h)
	}
	for _, h := range extra {
		add(h)
	}
	return hosts
}

// notificationTarget is where the registry sends events: the relay in the task
// when a queue is configured, else Synapse's listener.
func (s *Settings) notificationTarget() string {
	if c := s.Relay(); c != nil {
		return c.RelayURL()
	}
	return s.NotificationURL
}
