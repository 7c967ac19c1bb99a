# Every developer and CI entry point. `make help` lists the targets and the variables.
# Two Go modules: the deploy module (the repository root: the Pulumi program, the image, their
# tests) and tools/ (make local, make bench, make cost); test, lint, bench, cost and local run both.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

# Variables: `make help` prints each with its default and the "##" line above it.
## the Pulumi stack of synth, cost, preview and up: any stack with a Pulumi.<stack>.yaml (e.g. your own)
STACK ?= dev
## flags of `make local`: -token-addr, -notify-addr (the stand-in Synapse, localhost:5002 and :5003), -dir (build/local)
LOCAL_FLAGS ?=
## assumption flags of `make cost` (go -C tools run ./cmd/cost -h lists them), e.g. -pushed-gb 800
COST_FLAGS ?=
## flags of `make bench` (go -C tools run ./cmd/bench -h lists them), e.g. -short for a quick check
BENCH_FLAGS ?=
## 1: `make bench` also writes its results into docs/performance.md; empty: it only prints them
WRITE ?=
## the go command
GO ?= go

TOOLS_BIN := $(CURDIR)/build/tools

.PHONY: help test lint synth snapshots preview up local bench cost check-stack check-pulumi

help: ## List the targets and the variables
	@echo "Targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'
	@echo "Variables (make <target> NAME=value):"
	@awk '/^## / { doc = substr($$0, 4); next } /^[A-Z_]+ \?=/ { split($$0, kv, / \?= ?/); printf "  %-12s %s (default: %s)\n", kv[1], doc, (kv[2] == "" ? "empty" : kv[2]) } { doc = "" }' $(MAKEFILE_LIST)

# go test prints each package's result as it finishes; the log is kept in build/test.log and
# the failures are repeated at the end, so a failure is not lost in the scroll.
test: ## All tests of both modules: unit, Pulumi-mock stack tests, registry end-to-end, snapshots, workflow lint
	$(GO) vet ./...
	$(GO) -C tools vet ./...
	@mkdir -p build
	@echo "go test: the deploy module, then tools/; one line per package as it finishes"
	@set +e; \
	  { $(GO) test -count=1 -timeout 30m ./...; deploy=$$?; $(GO) -C tools test -count=1 -timeout 30m ./...; exit $$((deploy | $$?)); } 2>&1 | tee build/test.log; \
	  status=$${PIPESTATUS[0]}; \
	  if [ "$$status" -ne 0 ]; then \
	    echo; echo "make test: FAILED (full output in build/test.log):"; \
	    grep -E '^(--- FAIL|FAIL[[:space:]]|panic:)' build/test.log || echo "  (no test failed: see the errors above)"; \
	    exit 1; \
	  fi
	$(GO) tool actionlint

lint: ## go vet, staticcheck and gofmt, on both modules
	$(GO) vet ./...
	$(GO) -C tools vet ./...
	$(GO) build -o build/bin/ honnef.co/go/tools/cmd/staticcheck
	build/bin/staticcheck ./...
	cd tools && ../build/bin/staticcheck ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted (run gofmt -w)"; exit 1; fi

synth: check-stack ## Everything STACK would create, with no cloud access: build/synth/$(STACK).json and a summary
	$(GO) run ./cmd/synth -stack $(STACK)

snapshots: ## Refresh the golden synth snapshots (infra/testdata/) after an intended change
	UPDATE_SNAPSHOTS=1 $(GO) test -count=1 -run 'TestSnapshot' ./infra/

bench: ## Pulls, pushes, registry CPU and memory, notifications: deployed registry vs straight S3; prints, WRITE=1 also writes docs/performance.md
	$(GO) -C tools build -o $(TOOLS_BIN)/ ./cmd/bench
	$(TOOLS_BIN)/bench $(if $(WRITE),-write docs/performance.md) $(BENCH_FLAGS)

cost: synth ## Monthly cost of STACK next to today's CDK design (docs/performance.md); assumptions via COST_FLAGS
	$(GO) -C tools build -o $(TOOLS_BIN)/ ./cmd/cost
	$(TOOLS_BIN)/cost -stack $(STACK) $(COST_FLAGS)

local: ## The image's entrypoint and registry on this machine, with a stand-in Synapse: docker login localhost:5000 -u dev -p dev-password (image/README.md)
	$(GO) build -o build/local/bin/ ./image/entrypoint ./image/registry
	$(GO) -C tools build -o $(CURDIR)/build/local/bin/ ./cmd/local
	build/local/bin/local $(LOCAL_FLAGS)

preview: check-stack check-pulumi ## pulumi preview of STACK (needs the Pulumi CLI and AWS credentials)
	pulumi preview --stack $(STACK) --diff

up: check-stack check-pulumi ## pulumi up of STACK, then check that ECS runs the declared task definition (needs the Pulumi CLI, AWS credentials and Docker unless `image` is set)
	pulumi up --stack $(STACK)
	pulumi stack output --json --stack $(STACK) | $(GO) run ./cmd/verifydeploy -region "$$(pulumi config get aws:region --stack $(STACK))"

# Any stack works (one per engineer is common Pulumi practice); it needs its stack file.
check-stack:
	@[ -n "$(STACK)" ] && [ -f "Pulumi.$(STACK).yaml" ] || { \
	  echo "STACK=$(STACK): there is no Pulumi.$(STACK).yaml. Pick a stack that has one ($$(ls Pulumi.*.yaml | sed -E 's/^Pulumi\.(.*)\.yaml$$/\1/' | paste -sd, -)): make $(MAKECMDGOALS) STACK=dev;"; \
	  echo "  or create yours: pulumi stack init $(or $(STACK),<name>), then set its keys in Pulumi.$(or $(STACK),<name>).yaml, with its own host, CIDR and bucket, never another stack's (README.md, Configuration reference)"; \
	  exit 2; }

check-pulumi:
	@command -v pulumi >/dev/null || { echo "the Pulumi CLI is not installed: see README.md, Prerequisites (curl -fsSL https://get.pulumi.com | sh)"; exit 2; }
