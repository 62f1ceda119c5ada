# bulkhead: build the images, run them under QEMU, run every test.
#
#   make qemu                  boot the engine, the hypervisor (or HYPERVISOR=elf)
#                              and guests: GUEST=..., or KERNEL= INITRD= APPEND=
#                              with DISK="a.img b.img,ro" (implies SHARED=1
#                              unless VIRTIO=1)
#   make test                  every test: format, vet, unit, QEMU suites, proofs
#   make race                  the core driven from several goroutines under -race
#   make smp                   the scheduling scenarios again on a board with 2 CPUs
#   make smp-all               the whole QEMU suite on boards with 2 and 4 CPUs (long)
#   make tamago                install the TamaGo compiler (TAMAGO_SRC=<checkout> offline)
#   make qemu-gdb              make qemu, halted, with QEMU's gdb stub
#   make guest-test PKG=dir    go test of a test-guest package, each binary in a VM
#   make bench                 benchmarks
#   make proofs                check the Coq model, the translation of the Go
#                              core and every proof about either, and that
#                              planted bugs break them (the parts below)
#   make model-proofs          the model and its proofs only
#   make code-proofs           the translated Go core and its proofs only
#   make model-mutants         plant bugs in the model; each must break a theorem
#   make code-mutants          plant each bug of isolation/internal/plant in the
#                              translated code and name the theorem that fails

TAMAGO ?= $(HOME)/.cache/tamago-go/tamago-go1.26.0/bin/go
GO ?= go
TAMAGO_ENV := GOOS=tamago GOARCH=arm64 GOOSPKG=github.com/usbarmory/tamago
# Packages that only exist for the target: vetted with the TamaGo compiler.
TARGET_PKGS := ./arch/... ./boot/... ./cmd/engine ./cmd/hypervisor ./cmd/benchhost ./tests/hosttests ./guest/...
GUEST_PKGS := ./arch/el1 ./guest/... ./cmd/guests/... ./tests/guests/...
HYPERVISOR ?=
GUEST ?=
GUEST_ARGS ?=
KERNEL ?=
INITRD ?=
APPEND ?=
# DISK: disk images of the KERNEL guest, space-separated, each FILE or
# FILE,ro (bulkhead run -disk); SHARED=1 makes that guest a shared-memory
# VM (-shared), which DISK implies: an unmodified Linux drives virtio only
# in memory the host can read. VIRTIO=1 instead keeps it protected with
# its virtio devices (-virtio), for a kernel that shares its own buffers.
DISK ?=
SHARED ?=
VIRTIO ?=
VCPUS ?=
TIMEOUT ?= 0

export TAMAGO

.PHONY: all images engine hypervisor qemu qemu-gdb test unit qemu-tests fmt-check vet \
	lint proofs bench clean check_tamago guest-images tamago mods bulkhead guest-test race \
	vgic-mutants refinement-mutants code-mutants smp smp-all oracle model-proofs code-proofs \
	model-mutants

all: images

# tamago installs the TamaGo compiler into ~/.cache/tamago-go (scripts/tamago).
tamago:
	@scripts/tamago

# check_tamago installs the compiler on first use where it can; elsewhere
# scripts/tamago says in one line what to do.
check_tamago:
	@if [ ! -x "$(TAMAGO)" ]; then scripts/tamago; fi

# mods downloads the pinned modules: the TamaGo go command resolves GOOSPKG
# only from the module cache and never fetches it, so nothing that builds
# or vets for the target may rely on a warm cache.
mods:
	@if [ -x "$(TAMAGO)" ]; then $(TAMAGO_ENV) $(TAMAGO) mod download; else $(GO) mod download; fi

images engine hypervisor: check_tamago mods
	$(GO) run ./cmd/bulkhead build

# The bulkhead command itself, so that its exit status (how the guests
# ended; bulkhead run -h) is not replaced by go run's.
bulkhead:
	@mkdir -p build
	$(GO) build -ldflags "-X main.sourceRoot=$(CURDIR)" -o build/bulkhead ./cmd/bulkhead

RUN_FLAGS = -timeout $(TIMEOUT) \
	$(if $(HYPERVISOR),-hypervisor $(HYPERVISOR)) $(foreach g,$(GUEST),-guest $(g)) \
	$(if $(GUEST_ARGS),-guest-args $(GUEST_ARGS)) \
	$(if $(KERNEL),-kernel $(KERNEL)) $(if $(INITRD),-initrd $(INITRD)) \
	$(if $(APPEND),-append "$(APPEND)") $(if $(VCPUS),-vcpus $(VCPUS)) $(if $(CPUS),-cpus $(CPUS)) \
	$(if $(SHARED),-shared) $(if $(VIRTIO),-virtio) \
	$(if $(and $(DISK),$(if $(or $(SHARED),$(VIRTIO)),,y)),-shared) $(foreach d,$(DISK),-disk $(d))

qemu: check_tamago mods bulkhead
	build/bulkhead run $(RUN_FLAGS)

qemu-gdb: check_tamago mods bulkhead
	build/bulkhead run -gdb $(RUN_FLAGS)

# guest-test runs the Go tests of the test-guest package in PKG (a
# directory, possibly a module of its own) inside VMs: bulkhead test, that
# is go test -exec "bulkhead exec" with the TamaGo compiler and the guest
# build flags. GOTESTFLAGS are go test's (e.g. -v, -run X, -json).
PKG ?= examples/firstguest
GOTESTFLAGS ?= -v
guest-test: check_tamago mods bulkhead
	build/bulkhead test -C $(PKG) $(GOTESTFLAGS) .

# test runs every check, two at a time (the two cores CI has): the Coq
# proofs beside the QEMU suite on boards of 2 and 4 CPUs (smp-all), the
# unit tests and the mutants once the proofs have built the oracle the
# refinement tests use. Each part's output is printed whole when it ends.
TEST_PARTS := fmt-check vet lint oracle proofs race vgic-mutants refinement-mutants guest-images unit smp-all
test: mods
	$(MAKE) -j2 --output-sync=target IN_TEST=1 $(TEST_PARTS)

ifeq ($(IN_TEST),1)
unit refinement-mutants: oracle
unit smp-all: guest-images
endif

# guest-images fetches Debian's arm64 kernel and busybox (cached in
# .cache/guest-images) for the Linux scenarios, which skip, saying so,
# when the images cannot be had.
guest-images:
	@scripts/guest-images >/dev/null 2>.cache-guest-images.log || \
		{ echo "!!! guest images unavailable (see .cache-guest-images.log): the Linux scenarios will be skipped"; }

# unit runs every Go test: host tests and the QEMU suites in tests/ (which
# skip, saying so, without the TamaGo compiler).
unit: mods
	$(GO) test -count=1 -timeout 30m ./...

# smp runs the hypervisor's scenarios that exercise its scheduling again on
# a board with two CPUs (BULKHEAD_TEST_CPUS, tests/harness_test.go): SDK
# guests on two vCPUs, a spinner beside another VM, Linux on 2 vCPUs and
# two Linux VMs at once. Linux on 4 vCPUs on 4 CPUs runs in unit
# (TestLinuxOnEveryHostCPU); Linux on 4 vCPUs on 2 CPUs here, where
# three vCPUs spinning in stop_machine keep both CPUs busy while the
# fourth sleeps in WFI.
SMP_TESTS := TestGuestABI$$|TestGuestSpinnerDoesNotStarveOthers|TestLinuxBootsSMP|TestTwoLinuxVMsAtOnce
smp: mods
	BULKHEAD_TEST_CPUS=2 $(GO) test -count=1 -timeout 20m -run '$(SMP_TESTS)' ./tests/

# smp-all runs the whole QEMU suite (tests/) again on boards with 2 and 4
# CPUs, every scenario that does not choose its own (part of test; smp
# runs only the scheduling scenarios, on 2 CPUs).
SMP_ALL_CPUS := 2 4
smp-all: mods guest-images
	@for n in $(SMP_ALL_CPUS); do \
		echo "== the QEMU suite on $$n CPUs"; \
		BULKHEAD_TEST_CPUS=$$n $(GO) test -count=1 -timeout 60m ./tests/ || exit 1; \
	done

# race runs the tests of isolation.Serial, the core behind the engine lock,
# under the race detector (go test -race, which needs cgo and a C
# compiler), then shows that the stress test catches a Serial that takes no
# lock and one that lets VCPU_IRQ write the context of a vCPU in the guest:
# built with each planted bug's tag it must fail, with a race report or a
# ghost violation.
RACE_PLANTS := bulkhead_plant_serial_nolock bulkhead_plant_serial_irq
race: mods
	$(GO) test -race -count=1 -run 'TestSerial' ./isolation/
	$(GO) test -race -count=1 ./isolation/internal/fakearch/
	@mkdir -p build
	@for tag in $(RACE_PLANTS); do \
		log=build/race-$$tag.log; \
		if $(GO) test -race -count=1 -tags $$tag -run 'TestSerialStress$$' ./isolation/ > $$log 2>&1; then \
			echo "race: TestSerialStress passed with the planted bug $$tag ($$log)"; exit 1; fi; \
		races=$$(grep -c 'WARNING: DATA RACE' $$log); ghosts=$$(grep -c 'ghost check after' $$log); \
		if [ "$$races$$ghosts" = 00 ]; then \
			echo "race: TestSerialStress failed with $$tag, but with neither a race nor a ghost violation ($$log)"; exit 1; fi; \
		echo "race: the planted bug $$tag is caught: $$races race reports, $$ghosts ghost violations ($$log)"; \
	done

# vgic-mutants applies bugs to a copy of hypervisor/vgic and shows that the
# reference-model test (TestReferenceModel) catches each one.
vgic-mutants: mods
	GO=$(GO) hypervisor/vgic/mutants.sh

# refinement-mutants applies bugs to a copy of the Go core and shows that
# the refinement test alone, without the checked-in traces, catches each
# one. It needs the oracle (make oracle; make test builds it first).
refinement-mutants: mods
	isolation/refinement/mutants.sh

# code-mutants plants each bug of isolation/internal/plant, one at a time,
# in the Coq translation of the core (gocoq -plant) and shows that a proof
# about the translated code fails on it, naming the theorem
# (proofs/codemutate.sh; needs go and coqc, and proofs/code up to date).
code-mutants:
	sh proofs/codemutate.sh

# model-mutants plants bugs in a copy of the model and shows that the
# oracle built from each breaks a theorem's statement on a concrete trace
# (proofs/mutate.sh); which proof each breaks is left out, as it decides
# nothing and takes most of the time (sh proofs/mutate.sh names it).
model-mutants: mods
	NAME_PROOFS=0 sh proofs/mutate.sh

qemu-tests: mods
	$(GO) test -count=1 -v ./tests/

fmt-check:
	@bad=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$bad" ]; then echo "gofmt needed: $$bad"; exit 1; fi

vet: mods
	$(GO) vet ./...
	@if [ -x "$(TAMAGO)" ]; then \
		echo "$(TAMAGO_ENV) tamago vet $(TARGET_PKGS) $(GUEST_PKGS)"; \
		$(TAMAGO_ENV) $(TAMAGO) vet $(TARGET_PKGS) && \
		$(TAMAGO_ENV) $(TAMAGO) vet -tags bulkhead_bench ./arch/el2 ./cmd/engine && \
		$(TAMAGO_ENV) $(TAMAGO) vet -tags bulkhead_bench,bulkhead_profile ./arch/el2 ./cmd/engine && \
		$(TAMAGO_ENV) $(TAMAGO) vet -tags bulkhead_ghost ./cmd/engine && \
		$(TAMAGO_ENV) $(TAMAGO) vet -tags bulkhead_guest $(GUEST_PKGS); \
	else echo "vet: no TamaGo compiler; target-only files not vetted"; fi

# lint enforces the layout rules: unsafe only in arch/ and the board code
# (files named *_unsafe.go), and a pure isolation core.
lint:
	@bad=$$(git grep -l '"unsafe"' -- '*.go' | grep -v -E '^(arch|boot)/.*_unsafe\.go$$' | grep -v -E '^arch/.*/runtime\.go$$'); \
	if [ -n "$$bad" ]; then echo "unsafe outside arch/ and boot/ *_unsafe.go: $$bad"; exit 1; fi
	@bad=$$(git grep -l -E '"unsafe"|usbarmory/tamago|^\s*go [a-zA-Z_(]|go func' -- 'isolation/*.go' ':!*_test.go' ':!isolation/refinement/*'); \
	if [ -n "$$bad" ]; then echo "isolation/ must be pure Go (no unsafe, TamaGo or goroutines): $$bad"; exit 1; fi

# proofs checks everything Coq, two parts at a time (make test's two jobs,
# or two of its own): the model and its proofs (model-proofs,
# proofs/check.sh), the translation of the Go core and the proofs about it
# (code-proofs, proofs/gocoq.sh, after the model, whose files it shares),
# and that planted bugs break both (model-mutants, code-mutants); first it
# builds the oracle (proofs/oracle.sh), which the unit tests need.
PROOF_PARTS := model-proofs code-proofs model-mutants code-mutants
proofs: oracle
	+@$(MAKE) --no-print-directory $(if $(IN_TEST),,-j2 --output-sync=target) IN_PROOFS=1 $(PROOF_PARTS)
	@echo "proofs: ok"

ifeq ($(IN_PROOFS),1)
code-proofs: model-proofs
endif

oracle:
	sh proofs/oracle.sh

model-proofs:
	+sh proofs/check.sh

code-proofs:
	+sh proofs/gocoq.sh

bench: check_tamago mods
	$(GO) test -run '^$$' -bench . -benchmem ./isolation/...
	$(GO) run ./cmd/bulkhead bench

clean:
	rm -rf build
