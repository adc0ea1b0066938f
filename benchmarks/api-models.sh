#!/usr/bin/env bash
# The typed Engine API models against the JSON parser they sit on: per docker-CLI create body
# (captured from docker 28, Tests/BerthAPITypesTests/Fixtures), the parse alone, the parse plus
# the decode into ContainerCreateRequest, and both ways back to bytes. Release build.
#   benchmarks/api-models.sh [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
swift build -c release --product berth-json-bench >/dev/null
.build/release/berth-json-bench Tests/BerthAPITypesTests/Fixtures/docker-cli-28-create.json "${1:-20000}"
