#!/usr/bin/env bash
# Lines of TypeScript per package: source files and tests apart (printed by .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
printf '%-16s %8s %8s %8s\n' package files src-lines test-lines
for dir in packages/*/; do
  name=$(basename "$dir")
  src=$(find "$dir/src" -name '*.ts' ! -name '*.test.ts' ! -name '*.d.ts' 2>/dev/null)
  tests=$( { find "$dir/src" -name '*.test.ts'; find "$dir/test" -name '*.ts' 2>/dev/null; } 2>/dev/null)
  files=$(printf '%s\n' "$src" | grep -c . || true)
  count() { if [ -n "$1" ]; then printf '%s\n' "$1" | xargs cat | wc -l; else echo 0; fi; }
  printf '%-16s %8s %8s %8s\n' "$name" "$files" "$(count "$src")" "$(count "$tests")"
done
