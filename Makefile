# salient — build, test, bench.
#
#   make                 build bin/salient, bin/weightconv, bin/candidate_crops
#   make test            build + run every test, also under ASan/UBSan
#                        (a few minutes; no optional tools or fixtures needed)
#   make test-full       the same with the full sizes under ASan (CI runs it)
#   make bench           speed benchmark (random ffhq1024 weights)
#   make models          download + check the published model files
#   make demo            the main job on a fresh machine
#   make BLAS=openblas   use OpenBLAS for the GEMMs
#   make MPI=1           also build bin/salient-mpi (Open MPI)
#
# Sources are found by wildcard: engine/ nets/ weightconv/ search/ *.c form
# the library; <dir>/<name>_main.c is the program bin/<name>; files ending in
# _avx512.c / _avx2.c get the matching -m flags (they are only entered after
# cpu_isa() said the CPU has them). tests/<area>/test_*.c are test programs.

ifeq ($(origin CC),default)
CC      = gcc
endif
OPT     ?= -O2
CFLAGS  ?=
BASEFLAGS = -std=c11 -D_GNU_SOURCE $(OPT) -g -fopenmp -Wall -Wextra -Iengine -Inets -Iweightconv -Isearch -MMD -MP
LDLIBS  = -lz -lm -fopenmp
AVX512FLAGS = -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma -mavx2 -mf16c -mavx512bf16
AVX2FLAGS   = -mavx2 -mfma -mf16c

ifeq ($(BLAS),openblas)
BASEFLAGS += -DSALIENT_OPENBLAS -I/usr/include/x86_64-linux-gnu/openblas-pthread -I/usr/include/openblas
LDLIBS    += -lopenblas
endif

SANFLAGS = -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# The vector kernels (*_avx512.c, *_avx2.c) are ~95% of the sanitized tests'
# time. In the ASan flavour they are compiled at -O2 without ASan's *stack*
# instrumentation (--param asan-stack=0): instrumenting their local arrays of
# accumulators forces the register tiles into memory and made a saliency pass
# 10x slower (1.6 s -> 0.15 s on a 32 px face). Their heap accesses (inputs,
# weights, outputs, workspace) and UBSan's checks stay instrumented; every
# other file keeps full ASan at -O1. SANSIMDOPT= on the make line turns it off.
SANSIMDOPT = -O2 --param asan-stack=0

DIRS      := engine nets weightconv search
ALL_SRC   := $(foreach d,$(DIRS),$(wildcard $(d)/*.c))
MAIN_SRC  := $(filter %_main.c,$(ALL_SRC))
MPI_SRC   := $(filter %_mpi.c %_mpi_main.c,$(ALL_SRC))
LIB_SRC   := $(filter-out $(MAIN_SRC) $(MPI_SRC),$(ALL_SRC))
PROGS     := $(patsubst %_main.c,%,$(notdir $(filter-out $(MPI_SRC),$(MAIN_SRC))))
TEST_SRC  := $(wildcard tests/*/test_*.c)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
TEST_SRC  := $(filter-out $(FUZZ_SRC),$(TEST_SRC))
# tests/<area>/*.c that are not test_*.c: code several test programs share
# (e.g. the emulated kernels), compiled once into $(B)/tests/libtestsupport.a
TSUP_SRC  := $(filter-out $(TEST_SRC) tests/fuzz/%,$(wildcard tests/*/*.c))

# build directory per flavour: build/ (normal) and build-asan/
B ?= build
ifeq ($(B),build-asan)
FLAVOUR = $(SANFLAGS)
AVX512FLAVOUR = $(SANFLAGS) $(SANSIMDOPT)
AVX2FLAVOUR = $(SANFLAGS) $(SANSIMDOPT)
LDFLAVOUR = -fsanitize=address,undefined
BINDIR = build-asan/bin
else
FLAVOUR =
AVX512FLAVOUR =
AVX2FLAVOUR =
LDFLAVOUR =
BINDIR = bin
endif

LIB_OBJ   := $(patsubst %.c,$(B)/%.o,$(LIB_SRC))
TEST_BINS := $(patsubst %.c,$(B)/%,$(TEST_SRC))
TSUP_OBJ  := $(patsubst %.c,$(B)/%.o,$(TSUP_SRC))

.PHONY: all lib tests asan test test-full bench models demo fuzz clean help
all: $(addprefix $(BINDIR)/,$(PROGS))

help:
	@sed -n '3,13p' Makefile

lib: $(B)/libsalient.a
tests: $(TEST_BINS) $(addprefix $(BINDIR)/,$(PROGS))

$(B)/%_avx512.o: %_avx512.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(AVX512FLAVOUR) $(AVX512FLAGS) $(CFLAGS) -c $< -o $@
$(B)/%_avx2.o: %_avx2.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(AVX2FLAVOUR) $(AVX2FLAGS) $(CFLAGS) -c $< -o $@
$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(FLAVOUR) $(CFLAGS) -c $< -o $@

$(B)/libsalient.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BINDIR)/%: $(B)/engine/%_main.o $(B)/libsalient.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAVOUR) -o $@ $< -Wl,--whole-archive $(B)/libsalient.a -Wl,--no-whole-archive $(LDLIBS)
$(BINDIR)/%: $(B)/nets/%_main.o $(B)/libsalient.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAVOUR) -o $@ $< -Wl,--whole-archive $(B)/libsalient.a -Wl,--no-whole-archive $(LDLIBS)
$(BINDIR)/%: $(B)/weightconv/%_main.o $(B)/libsalient.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAVOUR) -o $@ $< -Wl,--whole-archive $(B)/libsalient.a -Wl,--no-whole-archive $(LDLIBS)
$(BINDIR)/%: $(B)/search/%_main.o $(B)/libsalient.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAVOUR) -o $@ $< -Wl,--whole-archive $(B)/libsalient.a -Wl,--no-whole-archive $(LDLIBS)

$(B)/tests/libtestsupport.a: $(TSUP_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/tests/%: tests/%.c $(B)/tests/libtestsupport.a $(B)/libsalient.a tests/check.h
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(FLAVOUR) $(CFLAGS) -Itests -o $@ $< $(B)/tests/libtestsupport.a $(B)/libsalient.a $(LDFLAVOUR) $(LDLIBS)

# The MPI program: `make MPI=1` (needs Debian's libopenmpi-dev); `make test`
# builds it whenever mpicc is installed (MPI=0 turns that off).
MPICC ?= mpicc
ifeq ($(origin MPI),undefined)
MPI := $(if $(shell command -v $(MPICC) 2>/dev/null),1,0)
endif
ifeq ($(MPI),1)
all: $(BINDIR)/salient-mpi
tests: $(BINDIR)/salient-mpi
endif
$(BINDIR)/salient-mpi: search/salient_mpi_main.c $(B)/libsalient.a
	@mkdir -p $(dir $@)
	$(MPICC) $(filter-out -MMD -MP,$(BASEFLAGS)) $(FLAVOUR) $(CFLAGS) -o $@ $< -Wl,--whole-archive $(B)/libsalient.a -Wl,--no-whole-archive $(LDFLAVOUR) $(LDLIBS) -lpthread

asan:
	$(MAKE) B=build-asan tests

# `make test` builds both flavours with one job per core unless -j was given.
# Tests needing a missing optional program (djpeg, mpirun) or the ../shared
# fixtures print one "skipped" line each; the last line is
# "N passed, N failed, N skipped". `make test-full` (SALIENT_FULL=1) runs the
# same tests with the full sizes and repetitions under the sanitizers too.
NPROC := $(shell nproc 2>/dev/null || echo 2)
JOBS = $(if $(findstring -j,$(MAKEFLAGS)),,-j$(NPROC))
# Both flavours build at once (sharing the -j slots), so neither waits for
# the other's last long compile.
test:
	$(MAKE) $(JOBS) tests-both
	sh tests/run.sh

test-full:
	$(MAKE) $(JOBS) tests-both
	SALIENT_FULL=1 sh tests/run.sh

.PHONY: tests-both tests-normal tests-asan
tests-both: tests-normal tests-asan
tests-normal:
	$(MAKE) tests
tests-asan:
	$(MAKE) B=build-asan tests

bench: all
	sh tests/bench.sh

models:
	sh data/get-models.sh

demo: all
	sh data/demo.sh

fuzz:
	$(MAKE) -C tests/fuzz

clean:
	rm -rf build build-asan bin

-include $(shell find build build-asan -name '*.d' -type f -not -path '*/tmp/*' 2>/dev/null)
