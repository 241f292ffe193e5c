#!/usr/bin/env bash
# The release build every entry point uses (benchmarks, packaging, install, the symbol
# order): swift build -c release with the Swift runtime linked in, and every module —
# connwatch's and its dependencies' — compiled with one section per function.
#
# Why the sections: the kernel maps an executable's code in 64 KiB blocks as it runs, so
# where the code connwatchd runs lies decides how much of it becomes resident. The linker
# lays out the functions connwatchd runs together (link/connwatchd.order) and its unnamed
# helper functions together (link/connwatchd.ld), but it can move only whole sections:
# without these flags each source file's code is one section. At 10,000 connectors this
# is ~6 MiB of peak RSS (BENCHMARKS.md). A build without them works the same, only larger
# in memory.
#
#   scripts/release-build.sh [swift build options…]   e.g. --product connwatchd, --show-bin-path
#   CONNWATCH_SCRATCH_PATH=dir  builds in dir instead of .build
set -euo pipefail
cd "$(dirname "$0")/.."
# --force-resolved-versions: exactly the versions pinned in the committed Package.resolved
# (the build fails rather than resolve anything else).
args=(-c release --static-swift-stdlib --force-resolved-versions
  -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections)
if [ -n "${CONNWATCH_SCRATCH_PATH:-}" ]; then args+=(--scratch-path "$CONNWATCH_SCRATCH_PATH"); fi
exec swift build "${args[@]}" "$@"
