#!/usr/bin/env bash
# Installs everything a fresh machine lacks: Debian packages for the headless VS Code
# (code-server) tests, then npm dependencies. Safe to run again; skips what is present.
# Used by .ci/run and by `npm start`'s first run. Nothing here downloads from outside the
# npm registry and Debian's mirrors.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for bin in chromium rg pkg-config; do command -v "$bin" >/dev/null 2>&1 || need_apt+=("$bin"); done
[ -f /usr/include/krb5.h ] || [ -f /usr/include/krb5/krb5.h ] || need_apt+=(krb5)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "[install] apt: chromium libkrb5-dev ripgrep pkg-config (missing: ${need_apt[*]})"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium libkrb5-dev ripgrep pkg-config >/dev/null
fi

# code-server depends on @vscode/ripgrep, whose postinstall downloads a binary from GitHub.
# Pre-seed its download cache with Debian's rg so the install never leaves the machine.
tmp="${TMPDIR:-/tmp}"
cache="$tmp/vscode-ripgrep-cache-1.15.11"
tarball="$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -s "$tarball" ]; then
  mkdir -p "$cache/stage"
  cp "$(command -v rg)" "$cache/stage/rg"
  tar -czf "$tarball" -C "$cache/stage" rg
  rm -rf "$cache/stage"
fi

if [ ! -d node_modules/onnxruntime-node ] || [ ! -d node_modules/code-server ] || [ package.json -nt node_modules/.package-lock.json ]; then
  echo "[install] npm dependencies (onnxruntime-node CPU only; code-server from npm)"
  # ONNXRUNTIME_NODE_INSTALL=skip: its postinstall would fetch CUDA files from NuGet, unreachable here.
  export ONNXRUNTIME_NODE_INSTALL=skip npm_config_unsafe_perm=true npm_config_yes=true
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi
