# pbxbatch — see README.md. Everything runs with only Go installed.
GO      ?= go
PKGS    ?= ./...
BENCH   ?= .
DEMODIR ?= demo-out

.PHONY: all build demo test vet tidy-check bench fuzz lint templates testdata clean

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

all: build

build:
	$(GO) build -o bin/pbxbatch ./cmd/pbxbatch

## demo: the main job against an embedded simulator, no setup needed.
demo:
	$(GO) run ./cmd/pbxbatch demo --dir $(DEMODIR)

## test: vet, module tidiness, and every test.
test: vet tidy-check
	$(GO) test -count=1 -timeout 20m $(PKGS)

vet:
	$(GO) vet $(PKGS)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

tidy-check:
	@cp go.mod /tmp/pbxbatch-go.mod.bak; cp go.sum /tmp/pbxbatch-go.sum.bak
	@$(GO) mod tidy
	@if ! git diff --quiet -- go.mod go.sum 2>/dev/null; then \
	  echo "go mod tidy changed go.mod/go.sum:"; git --no-pager diff -- go.mod go.sum; \
	  cp /tmp/pbxbatch-go.mod.bak go.mod; cp /tmp/pbxbatch-go.sum.bak go.sum; exit 1; fi

## bench: the benchmarks of every issue, as a table.
bench:
	$(GO) run ./internal/benchtab -- $(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime 1x $(PKGS)

## lint: staticcheck (pinned; fetched through the module proxy on first use).
lint:
	$(GO) run $(STATICCHECK) ./...

## fuzz: a short run of each fuzz target.
fuzz:
	$(GO) test ./internal/workbook -run '^$$' -fuzz FuzzCSV -fuzztime 30s -fuzzminimizetime 3s
	$(GO) test ./internal/workbook -run '^$$' -fuzz FuzzXLSX -fuzztime 30s -fuzzminimizetime 3s

## templates: regenerate templates/ from the schemas.
templates:
	$(GO) generate ./templates

## testdata: regenerate the sample workbooks from their generators.
testdata:
	$(GO) generate ./internal/sampledata ./adapters/...

clean:
	rm -rf bin $(DEMODIR) .pbxbatch
