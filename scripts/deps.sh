#!/usr/bin/env bash
# deps.sh - check that the Debian packages the build and tests need are installed.
# Owns: the package list; installs what is missing when run as root, else prints the command.
#
# Run by make once per build tree (stamp BUILD/.deps-ok) and by `make deps`.
# With --bench it checks (installs) only the optional packages of the bench
# peers instead (scripts/bench-peers.sh runs it so; a failure only skips a peer).
# With --fuzz, only the fuzzing toolchain (`make fuzz` runs it so).
# Environment: DEPS_PACKAGES_EXTRA="pkg ..." adds packages to the check (for
# testing this script); DEPS_NO_INSTALL=1 never installs, only reports.
set -euo pipefail

# One package per line, with what uses it.
PACKAGES=(
    libzstd-dev    # dumpfmt/: zstd frames in dump files (libgcdump)
    libelf-dev     # dumpfmt/heapdump: reading ELF core files
    libcmocka-dev  # runtime/test and every other unit test (-lcmocka)
    libedit-dev    # analyzer/gcanalyze: interactive prompt with history and completion
    libsqlite3-dev # plugins/sql.c: `gcanalyze sql "SELECT ..."` over virtual tables of the loaded heap
    pkg-config     # finding libraries' flags; checking the installed gcrt.pc
    zstd           # bench/dump_speed.c: the `zstd -1 -T2` peer; also handy to inspect dump frames
    gdb            # gcore: dumpfmt/test/test_remote.c and bench/core_speed.c make core files of live processes
    tmux           # analyzer/test/test_prompt.c: drives the gcanalyze prompt in a real terminal (keys, Ctrl-C, screen)
)
# Optional: only `make bench` wants these, and it skips a peer without them.
BENCH_PACKAGES=(
    libgc-dev      # bench/peers/c: the Boehm GC peer (-DPEER_BOEHM, -lgc)
)
# Optional: only `make fuzz` wants these (libFuzzer is clang's).
FUZZ_PACKAGES=(
    clang-14           # make fuzz: the libFuzzer targets (-fsanitize=fuzzer,address,undefined)
    libclang-rt-14-dev # make fuzz: libFuzzer's and the sanitizers' runtimes for clang
    llvm-14            # scripts/fuzz-cov.sh: llvm-profdata and llvm-cov for the coverage figures
)
if [ "${1:-}" = --bench ]; then
    PACKAGES=("${BENCH_PACKAGES[@]}")
elif [ "${1:-}" = --fuzz ]; then
    PACKAGES=("${FUZZ_PACKAGES[@]}")
elif [ $# -gt 0 ]; then
    echo "usage: deps.sh [--bench|--fuzz]" >&2
    exit 2
fi
# shellcheck disable=SC2206
PACKAGES+=(${DEPS_PACKAGES_EXTRA:-})

# The compiler toolchain (gcc, make, ar, libc headers, sanitizer runtimes)
# comes with build-essential; checked by command so that any equivalent
# setup passes.
for tool in cc make ar; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        PACKAGES+=(build-essential)
        break
    fi
done

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps.sh: not a Debian system (no dpkg-query); make sure these are installed: ${PACKAGES[*]}" >&2
    exit 0
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
    case $status in
        ii*) ;;
        *) missing+=("$pkg") ;;
    esac
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 && [ "${DEPS_NO_INSTALL:-0}" != 1 ]; then
    echo "deps.sh: installing ${missing[*]}" >&2
    if apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; then
        exit 0
    fi
    echo "deps.sh: apt-get failed" >&2
fi

echo "missing Debian packages: ${missing[*]}" >&2
echo "run: sudo apt-get install -y ${missing[*]}" >&2
exit 1
