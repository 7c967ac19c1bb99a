package infra

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
)

func TestLoadBalancer(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		alb := r.one(t, tLoadBalancer, "registry")
		prod := r.Stack == "prod"
		var accessLogs any = absent()
		if prod {
			accessLogs = map[string]any{"enabled": true, "bucket": anyValue()}
		}
		expectLike(t, "loadBalancer", alb.Inputs, map[string]any{
			"internal":                false, // internet-facing
			"subnets":                 []any{anyValue(), anyValue()},
			"dropInvalidHeaderFields": true,
			"desyncMitigationMode": satisfies(`"defensive" or "strictest"`, func(v any) bool {
				return v == "defensive" || v == "strictest"
			}),
			// The commit of a 100 GB layer may read it back at ~50 MB/s before answering; 4000 s
			// is the ALB's maximum.
			"idleTimeout": satisfies(">= 2000 s (100 GB at 50 MB/s) and <= 4000 s", func(v any) bool {
				n, ok := number(v)
				return ok && n >= 100e9/50e6 && n <= 4000
			}),
			"enableDeletionProtection": prod,
			"accessLogs":               accessLogs,
		})
		if !dependsOnAll(alb, "registry-public-1", "registry-public-2") || dependsOnAny(alb, "registry-private-1", "registry-private-2") {
			t.Errorf("ALB depends on %v, want the two public subnets and no private one", alb.DependsOn)
		}
		if prod {
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
		// Port 80 only redirects to HTTPS 443.
		expectLike(t, "httpRedirect", r.one(t, tListener, "http-redirect").Inputs, map[string]any{
			"port":           80,
			"defaultActions": []any{map[string]any{"type": "redirect", "redirect": map[string]any{"protocol": "HTTPS", "port": "443"}}},
		})
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
