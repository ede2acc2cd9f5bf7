#!/usr/bin/env bash
# fuzz-cov.sh - line and branch coverage (llvm-cov) of the code the fuzz targets reach, from their corpora.
# Owns: the coverage figures of docs/reliability.md: a clang build with source-based coverage in build-cov/,
# the replay drivers run over the given corpora, one llvm-cov report per file.
#
# usage: scripts/fuzz-cov.sh [CORPUS_ROOT]
#   Each target NAME replays its committed corpus and, when CORPUS_ROOT is
#   given, CORPUS_ROOT/NAME too (e.g. build-fuzz/fuzz-corpus after make fuzz).
#   Prints llvm-cov's per-file table (lines, branches) for the reader, the
#   core reader, the analyzer and the plugins; the profile stays in build-cov/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${1:-}
B=build-cov
CC=${FUZZ_CC:-clang-14}
PROFDATA=$(command -v llvm-profdata-14 || command -v llvm-profdata)
COV=$(command -v llvm-cov-14 || command -v llvm-cov)
flags="-fprofile-instr-generate -fcoverage-mapping"
targets=(reader:dumpfmt/fuzz/corpus/reader reader_repaired:dumpfmt/fuzz/corpus/reader_repaired
         core:dumpfmt/fuzz/corpus/core model:analyzer/fuzz/corpus/model commands:plugins/fuzz/corpus/commands)
bins=()
for t in "${targets[@]}"; do bins+=("$B/test/fuzz/fuzz_${t%%:*}"); done
make -s -j2 BUILD=$B CC="$CC" CFLAGS="-O1 -g $flags" LDFLAGS="-fprofile-instr-generate" "${bins[@]}"
rm -rf "$B/profiles"
mkdir -p "$B/profiles"
for t in "${targets[@]}"; do
    name=${t%%:*}
    dirs=("${t#*:}")
    if [ -n "$root" ] && [ -d "$root/$name" ]; then dirs+=("$root/$name"); fi
    LLVM_PROFILE_FILE="$B/profiles/$name.profraw" "$B/test/fuzz/fuzz_$name" "${dirs[@]}"
done
"$PROFDATA" merge -sparse "$B"/profiles/*.profraw -o "$B/profiles/all.profdata"
objs=()
for b in "${bins[@]:1}"; do objs+=(-object "$b"); done
for so in "$B"/plugins/*.so; do objs+=(-object "$so"); done
"$COV" report "${bins[0]}" "${objs[@]}" -instr-profile="$B/profiles/all.profdata" \
    dumpfmt/reader.c dumpfmt/core.c dumpfmt/remote.c analyzer/*.c plugins/*.c | sed 's|^/.*/||'
