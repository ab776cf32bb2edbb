#!/usr/bin/env bash
# Lines of TypeScript per package: source files and tests apart (printed by .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
printf '%-16s %8s %8s %8s\n' package files src-lines test-lines
for dir in packages/*/; do
  name=$(basename "$dir")
  src=$(find "$dir/src" -name '*.ts' ! -name '*.test.ts' ! -name '*.d.ts' 2>/dev/null || true)  # packages/weights has no src
  tests=$( { find "$dir/src" -name '*.test.ts'; find "$dir/test" -name '*.ts' 2>/dev/null; } 2>/dev/null || true)
  files=$(printf '%s\n' "$src" | grep -c . || true)
  count() { if [ -n "$1" ]; then printf '%s\n' "$1" | xargs cat | wc -l; else echo 0; fi; }
  printf '%-16s %8s %8s %8s\n' "$name" "$files" "$(count "$src")" "$(count "$tests")"
done
# The browser bundle (scripts/build-browser.js, built by npm ci): bytes as shipped and gzipped.
bundle=dist/browser/gradlens.mjs
if [ -f "$bundle" ]; then
  printf '%-16s %8s KiB minified, %s KiB gzipped\n' "browser bundle" "$(( $(wc -c < "$bundle") / 1024 ))" "$(( $(gzip -c "$bundle" | wc -c) / 1024 ))"
fi
