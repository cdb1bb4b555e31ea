#!/usr/bin/env bash
# Builds what drover's image holds into PREFIX (an empty or missing directory):
#   PREFIX/dist/             the compiled CLI and worker (`npm run build`): dist/cli/main.js, and the prebuilt,
#                            replay-checked workflow bundle dist/workflow-bundle.js (DROVER_WORKFLOW_BUNDLE)
#   PREFIX/package.json, package-lock.json
#   PREFIX/node_modules/     the production dependencies only (npm ci --omit=dev), no install scripts run
# deploy/Dockerfile RUNs this very script; CI and test/image-commands.integration.test.ts run it outside a container.
# Run it from a checkout whose dependencies are installed (`npm ci`): the build needs the dev dependencies.
# Then: cd PREFIX && node dist/cli/main.js worker ...
set -euo pipefail

prefix="${1:?usage: deploy/build-image-root.sh PREFIX}"
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"
if [ -n "$(ls -A "$prefix")" ]; then
  echo "build-image-root: $prefix is not empty" >&2
  exit 2
fi

cd "$src"
npm run build
for f in dist/cli/main.js dist/workflow-bundle.js; do
  if [ ! -f "$f" ]; then
    echo "build-image-root: npm run build wrote no $f" >&2
    exit 1
  fi
done
cp -R dist "$prefix/dist"
cp package.json package-lock.json "$prefix/"

cd "$prefix"
# --ignore-scripts: the production tree needs none (esbuild's, under tsx, only checks its binary), and an image
# build should run no package's code.
npm ci --omit=dev --ignore-scripts --no-audit --no-fund
# The compiled CLI starts with nothing but these files.
node dist/cli/main.js --version
