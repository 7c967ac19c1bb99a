package registryconfig

import (
	"fmt"
	"net/url"
	"regexp"
)

// The rules here are shared by the image's entrypoint and the stack (infra), so a value one
// accepts the other accepts too.

// regionPattern is an AWS region name: us-east-1, eu-central-2, us-gov-west-1, us-iso-east-1.
var regionPattern = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$`)

// ValidRegion reports whether s is an AWS region name such as us-east-1.
func ValidRegion(s string) bool { return regionPattern.MatchString(s) }

// CheckURL returns why raw is not an absolute URL of an allowed scheme (https, and http when
// allowHTTP) with a host and without credentials, or "" when it is. The stack allows https only
// (its URLs cross the internet with credentials in headers); local runs allow http.
func CheckURL(raw string, allowHTTP bool) string {
	u, err := url.Parse(raw)
	schemes := "https"
	if allowHTTP {
		schemes = "http or https"
	}
	switch {
	case err != nil || u.Host == "" || u.Hostname() == "" || !hostPattern.MatchString(u.Host):
		return fmt.Sprintf("%q is not an absolute %s URL with a host name", raw, schemes)
	case u.Scheme != "https" && !(allowHTTP && u.Scheme == "http"):
		return fmt.Sprintf("%q must use %s", raw, schemes)
	case u.User != nil:
		return "must not carry credentials in the URL (they would be logged); pass them as the configured secret"
	}
	return ""
}

// Nearest returns the candidate closest to name by edit distance, if it is within maxDistance
// edits, else "": the key a misspelt one most likely meant.
func Nearest(name string, candidates []string, maxDistance int) string {
	best, bestDist := "", maxDistance+1
	for _, c := range candidates {
		if d := editDistance(name, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}
