// Package docs holds the operator documentation (operations.md) and the tests that keep the
// documentation and the GitHub workflows honest: every make target, config key, workflow input
// and section they name exists.
package docs
