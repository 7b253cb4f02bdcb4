# Lintel: meeting-room door panels. Run `make help` for the targets.

VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.Version=$(VERSION)
GO       ?= go
BIN      := bin
# GOTAGS: build tags of `make build`. The production server has none; "sim"
# adds the Microsoft Graph emulator (serve --m365-sim) and the load test
# (lintel-server load), which make run, run-m365-sim and bench build with.
GOTAGS   ?=
# `make run` settings; override on the command line, e.g.
# `make run LISTEN=127.0.0.1:8090 PANEL_PORT=9101`.
# RUN_DIR: where the demo keeps its data and panel files.
RUN_DIR    ?= var/demo
# LISTEN: the server's address (admin UI, API and the panels' websocket).
LISTEN     ?= 127.0.0.1:8080
# PANEL_PORT: the first simulated panel's page; the others take the next ports.
PANEL_PORT ?= 9001
# `make bench` settings: the panels of its load run (rooms: a tenth).
LOAD_PANELS ?= 10000

.DEFAULT_GOAL := help

.PHONY: help
help: ## show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[1m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "make run settings (make run NAME=value):"
	@printf "  %-24s %s\n" "LISTEN=$(LISTEN)" "the server's address: admin UI, API and the panels' websocket" \
		"PANEL_PORT=$(PANEL_PORT)" "the first simulated panel's page; the others take the next ports" \
		"RUN_DIR=$(RUN_DIR)" "the demo's data, admin password, panel credentials and frames"

.PHONY: build
build: ## build bin/lintel-server (production: no emulator, no load test; GOTAGS=sim adds them) and bin/lintel-panel
	$(GO) build -trimpath -tags '$(GOTAGS)' -ldflags '$(LDFLAGS)' -o $(BIN)/lintel-server ./server
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/lintel-panel ./panel

# The demos build the server with the emulator and the load test.
run run-m365-sim bench: GOTAGS = sim

.PHONY: run
run: build ## start the server on the built-in demo calendar with three simulated panels; prints the admin URL, password and panel URLs
	@BIN=$(BIN) RUN_DIR=$(RUN_DIR) LISTEN=$(LISTEN) PANEL_PORT=$(PANEL_PORT) ./deploy/dev/run.sh

.PHONY: run-m365-sim
run-m365-sim: build ## like run, but the rooms come from a Microsoft Graph emulator through the real Microsoft 365 connector
	@BIN=$(BIN) RUN_DIR=var/m365-sim LISTEN=$(LISTEN) PANEL_PORT=$(PANEL_PORT) SERVE_FLAGS=--m365-sim ROOMS="aurora borealis echo" ./deploy/dev/run.sh

.PHONY: cross
cross: ## build the panel for linux/arm v6, v7 and arm64 (no cgo) into bin/
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=6 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/lintel-panel-armv6 ./panel
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/lintel-panel-armv7 ./panel
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/lintel-panel-arm64 ./panel
	@ls -l $(BIN)/lintel-panel-arm*

.PHONY: test-deps
test-deps: ## install what the tests need (Debian packages), only when missing
	@./deploy/dev/test-deps.sh

.PHONY: test
test: test-deps lint ## install test dependencies, then run the checks of lint and every test
	$(GO) test -tags sim -timeout 30m ./...

.PHONY: test-times
test-times: ## run ./server/... and ./panel/... with the clock at 00:30, 08:11, 12:00, 17:55, 23:50 UTC, weekday and Sunday
	@GO=$(GO) ./deploy/dev/test-times.sh

.PHONY: race
race: ## run the concurrent packages' tests under the race detector
	$(GO) test -race -timeout 20m ./server/hub/... ./server/sync/... ./server/booking/... ./panel/link/... ./panel/view/...

.PHONY: lint
lint: tidy-check ## go.mod tidy, gofmt, go vet and staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed on:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags sim ./server/
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

.PHONY: tidy-check
tidy-check: ## fail when go.mod or go.sum differ from what `go mod tidy` writes
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run 'go mod tidy' and commit the result" >&2; exit 1; }

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 60s)
	@GO=$(GO) ./deploy/dev/fuzz.sh

.PHONY: soak
soak: ## run the server under a bounded mixed hostile load for LINTEL_SOAK_DURATION (default 3m); it must return to its baseline
	LINTEL_SOAK_DURATION=$${LINTEL_SOAK_DURATION:-3m} $(GO) test -tags soak -run '^TestSoak$$' -count=1 -timeout 30m -v ./server/

.PHONY: bench
bench: build ## run the benchmarks (fan-out against a gorilla chat peer, rendering, booking, sync), then `lintel-server load` with LOAD_PANELS panels (default 10000) on a spawned server; under 15 minutes
	$(GO) test -run '^$$' -bench . -benchmem -timeout 12m ./...
	$(BIN)/lintel-server load --spawn --panels $(LOAD_PANELS) --rooms $$(( $(LOAD_PANELS) / 10 ))

.PHONY: bench-freshness
bench-freshness: ## Outlook change -> room state, notifications vs polling, 2,000 and 5,000 rooms, 150 ms per Graph operation (real time, ~10 min)
	$(GO) test -run '^$$' -bench Freshness -benchtime 1x -timeout 60m ./server/

.PHONY: clean
clean: ## remove build output and demo data
	rm -rf $(BIN) var
