#!/usr/bin/env bash
# Runs the test suites with node's test runner. Usage: scripts/test.sh [unit|contract|e2e]...
# E2E suites need root, runc and overlayfs; they start their own berthd on a temporary socket.
set -euo pipefail
cd "$(dirname "$0")/.."
suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(unit contract e2e)
npm run --silent build
files=()
for s in "${suites[@]}"; do
  [ -d "test/$s" ] || continue
  while IFS= read -r f; do files+=("$f"); done < <(find "test/$s" -name '*.test.ts' | sort)
done
[ ${#files[@]} -gt 0 ] || { echo "no test files for: ${suites[*]}"; exit 1; }
exec node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" "${files[@]}"
