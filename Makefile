# Every developer and CI entry point. `make help` lists them.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
STACK ?= dev
GO ?= go
COST_FLAGS ?=
LOCAL_FLAGS ?=
BENCH_FLAGS ?=

.PHONY: help test lint synth snapshots preview up local bench cost check-stack check-pulumi

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

test: ## All tests: unit, Pulumi-mock stack tests, registry end-to-end, snapshots, workflow lint
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...
	$(GO) tool actionlint

lint: ## go vet, staticcheck and gofmt
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted (run gofmt -w)"; exit 1; fi

synth: check-stack ## Everything STACK would create, with no cloud access: build/synth/$(STACK).json and a summary
	$(GO) run ./cmd/synth -stack $(STACK)

snapshots: ## Refresh the golden synth snapshots (infra/testdata/) after an intended change
	UPDATE_SNAPSHOTS=1 $(GO) test -count=1 -run 'TestSnapshot' ./infra/

bench: ## Pulls, pushes, registry CPU and memory, notifications: deployed registry vs straight S3 (docs/performance.md); flags via BENCH_FLAGS
	$(GO) run ./cmd/bench -write docs/performance.md $(BENCH_FLAGS)

cost: synth ## Monthly cost of STACK next to today's CDK design (docs/performance.md); assumptions via COST_FLAGS
	$(GO) run ./cmd/cost -stack $(STACK) $(COST_FLAGS)

local: ## The image's entrypoint and registry on this machine, with a stand-in Synapse: docker login localhost:5000 -u dev -p dev-password (image/README.md)
	$(GO) build -o build/local/bin/ ./image/entrypoint ./image/devregistry ./image/local
	build/local/bin/local $(LOCAL_FLAGS)

preview: check-stack check-pulumi ## pulumi preview of STACK (needs the Pulumi CLI and AWS credentials)
	pulumi preview --stack $(STACK) --diff

up: check-stack check-pulumi ## pulumi up of STACK, then check that ECS runs the declared task definition (needs the Pulumi CLI, AWS credentials and Docker unless `image` is set)
	pulumi up --stack $(STACK)
	pulumi stack output --json --stack $(STACK) | $(GO) run ./cmd/verifydeploy -region "$$(pulumi config get aws:region --stack $(STACK))"

check-stack:
	@case "$(STACK)" in dev|prod) ;; *) echo "STACK must be dev or prod (got '$(STACK)'): make $(MAKECMDGOALS) STACK=dev"; exit 2;; esac

check-pulumi:
	@command -v pulumi >/dev/null || { echo "the Pulumi CLI is not installed: see README.md, Prerequisites (curl -fsSL https://get.pulumi.com | sh)"; exit 2; }
