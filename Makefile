# jitpim: the two commands a newcomer needs are `make run` and `make test`.
GO        ?= go
AZURITE   := local/azurite/node_modules/.bin/azurite-table
# golangci-lint is built from the Go module proxy at a pinned version.
GOLANGCI_VERSION := v2.15.0
GOLANGCI  := bin/golangci-lint-$(GOLANGCI_VERSION)

.PHONY: build run test bench fuzz deps clean package package-aws lint check screenshots

build:
	$(GO) build -o bin/jitpim ./functions
	$(GO) build -o bin/jitpim-host ./local/host
	$(GO) build -o bin/devstack ./local/devstack

# deps installs the pinned Azurite and axe-core from npm (package-lock.json
# in local/azurite and local/browser).
AXE := local/browser/node_modules/axe-core/axe.min.js
deps: $(AZURITE) $(AXE)
$(AZURITE): local/azurite/package.json local/azurite/package-lock.json
	npm ci --prefix local/azurite --no-audit --no-fund
	@touch $(AZURITE)
$(AXE): local/browser/package.json local/browser/package-lock.json
	npm ci --prefix local/browser --no-audit --no-fund
	@touch $(AXE)

$(GOLANGCI):
	mkdir -p bin
	GOBIN=$(CURDIR)/bin/.golangci $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)
	mv bin/.golangci/golangci-lint $(GOLANGCI)

# lint runs the linters of .golangci.yml.
lint: $(GOLANGCI)
	$(GOLANGCI) run ./...

# check is what every change must pass besides the tests: formatting, vet,
# the linters, and a tidy go.mod.
check: $(GOLANGCI)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GOLANGCI) run ./...
	$(GO) mod tidy -diff

# run starts the whole local stack with the seeded demo tenant; Ctrl-C stops it.
run: deps build
	bin/devstack

# test runs every test with the race detector, end-to-end tests included
# (they start Azurite, the Graph simulator, the dev issuer and the local host).
# -count=1: the end-to-end tests build the handler in a subprocess, which Go's
# test cache cannot see, so a cached result could hide a changed handler.
test: deps
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 25m ./...

# screenshots replaces README's portal screenshots (docs/screenshots) with
# those the browser tests take (needs chromium: apt-get install -y chromium).
screenshots: deps
	JITPIM_UPDATE_SCREENSHOTS=1 $(GO) test -count=1 ./local/browser/

# bench prints the measured figures: engine ns/op and allocs/op on the
# memory store; Table Storage round trips per operation and per portal page
# view (with its directory calls); activation latency (p50/p99) and 8-client
# throughput against Azurite; audited changes with 1/4/16/32 clients,
# counting records against changes; the expiry sweep with
# 100 due among 10,000 stored versus 100 stored; one activation through the
# whole local stack sent by the Graph SDK versus plain JSON, in the same run.
bench: deps
	$(GO) test -run '^$$' -bench 'SelfActivate|Decide' -benchmem -benchtime 500x ./shared/engine/
	$(GO) test -run '^$$' -bench 'InboxNames' -benchmem -benchtime 200x ./shared/names/
	$(GO) test -run '^$$' -bench 'AlertScan|BreakGlass' -benchmem -benchtime 500x ./shared/alert/
	$(GO) test -run '^$$' -bench 'Review' -benchmem -benchtime 1x ./shared/review/
	$(GO) test -run 'TestRoundTrips|TestAzureRoundTrips' -v ./shared/tablestore/ | grep -E 'round trips|^(ok|FAIL|---)'
	$(GO) test -run '^$$' -bench 'ActivateAzurite|ActivateParallel8|AuditedChanges|SweepDue' -benchtime 1x -timeout 20m ./shared/tablestore/
	$(GO) test -run '^$$' -bench 'ActivationRoundTrip' -benchtime 100x ./local/e2e/

# fuzz runs each fuzz target briefly.
fuzz:
	$(GO) test ./shared/domain/ -run '^$$' -fuzz FuzzParseISODuration -fuzztime 20s
	$(GO) test ./shared/domain/ -run '^$$' -fuzz FuzzParseObjectID -fuzztime 20s
	$(GO) test ./shared/engine/ -run '^$$' -fuzz FuzzIDSpellingsThroughTheEngine -fuzztime 30s
	$(GO) test ./shared/httpapi/ -run '^$$' -fuzz FuzzParseRequest -fuzztime 20s
	$(GO) test ./shared/httpapi/ -run '^$$' -fuzz FuzzParseFilter -fuzztime 20s
	$(GO) test ./shared/httpapi/ -run '^$$' -fuzz FuzzApplyRule -fuzztime 20s
	$(GO) test ./shared/portal/ -run '^$$' -fuzz FuzzApplyPolicyForm -fuzztime 20s
	$(GO) test ./shared/portal/ -run '^$$' -fuzz FuzzParseAuditFilter -fuzztime 20s
	$(GO) test ./shared/funcproto/ -run '^$$' -fuzz FuzzEnvelope -fuzztime 20s
	$(GO) test ./shared/auth/ -run '^$$' -fuzz FuzzVerify -fuzztime 20s
	$(GO) test ./shared/servicenow/ -run '^$$' -fuzz FuzzParseWebhook -fuzztime 20s
	$(GO) test ./shared/servicenow/ -run '^$$' -fuzz FuzzVerify -fuzztime 20s
	$(GO) test ./shared/approvallink/ -run '^$$' -fuzz FuzzVerify -fuzztime 20s -fuzzminimizetime 2s

# package lays out the Function App as Flex Consumption deploys it (a zip
# in the deployment blob container): host.json, one folder per function and
# the handler at bin/jitpim. The binary is static (CGO_ENABLED=0), built
# with -trimpath (no local paths in it) and without the symbol table and
# DWARF (-s -w): stack traces keep function names and lines, which come
# from the pclntab, not from DWARF.
package:
	rm -rf dist && mkdir -p dist/app/bin
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags "-s -w" -o dist/app/bin/jitpim ./functions
	cp host.json dist/app/
	for f in functions/*/function.json; do d=dist/app/$$(basename $$(dirname $$f)); mkdir -p $$d; cp $$f $$d/; done
	cd dist/app && zip -qr ../jitpim.zip .
	@echo "dist/jitpim.zip: $$(wc -c < dist/jitpim.zip) bytes; bin/jitpim: $$(wc -c < dist/app/bin/jitpim) bytes"

# package-aws builds the AWS Lambda zip infra/aws/template.yaml deploys:
# the same handler, named bootstrap for the provided.al2023 runtime, for
# Graviton (arm64). lambda.norpc leaves out aws-lambda-go's legacy go1.x
# RPC mode, which provided.al2023 never uses.
package-aws:
	rm -rf dist/aws && mkdir -p dist/aws/build
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags "-s -w" -o dist/aws/build/bootstrap ./functions
	cd dist/aws/build && zip -q9 ../jitpim-lambda.zip bootstrap
	@ls -l dist/aws/build/bootstrap dist/aws/jitpim-lambda.zip | awk '{print $$5, $$9}'

clean:
	rm -rf bin dist
