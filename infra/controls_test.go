package infra

import "testing"

// FSBP controls not covered by the per-concern tests (docs/security.md names each test).

// ECS.10: Fargate services run the latest Fargate platform version.
func TestServiceRunsTheLatestFargatePlatform(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		svc := r.one(t, tService, "registry")
		if svc.InputString("launchType") != "FARGATE" || svc.InputString("platformVersion") != "LATEST" {
			t.Errorf("service launch type %q platform %q, want FARGATE LATEST", svc.InputString("launchType"), svc.InputString("platformVersion"))
		}
	})
}

// ACM.2: RSA certificates use at least 2,048-bit keys. Unset, ACM issues RSA_2048.
func TestCertificateKeyIsStrongEnough(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		cert, ok := r.Get(tCertificate, "registry")
		if !ok {
			t.Skip("the stack imports its certificate (certificateArn)")
		}
		switch alg := cert.InputString("keyAlgorithm"); alg {
		case "", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1":
		default:
			t.Errorf("certificate key algorithm %q is weaker than RSA 2048", alg)
		}
	})
}
