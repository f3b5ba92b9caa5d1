#!/bin/sh
# Slims node_modules for the runtime image (run after `npm prune --omit=dev`). Only files the bot
# never loads go: type declarations, source maps, docs; the CommonJS/UMD bundles of packages we load
# as ES modules (ccxt, echarts); better-sqlite3's sources and build intermediates; fonts the charts
# don't use; onnxruntime-node's binaries for other systems (when models are installed).
set -eu
cd "${1:-.}/node_modules"
find . -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' -o -name '*.md' -o -name '*.markdown' \) -delete
rm -rf ccxt/dist echarts/dist echarts/types echarts/src echarts/extension-src
rm -rf better-sqlite3/deps better-sqlite3/src better-sqlite3/build/Release/obj better-sqlite3/build/Release/obj.target \
  better-sqlite3/build/Release/.deps better-sqlite3/build/Release/test_extension.node better-sqlite3/build/deps
find dejavu-fonts-ttf/ttf -type f ! -name 'DejaVuSans.ttf' ! -name 'DejaVuSans-Bold.ttf' -delete
if [ -d onnxruntime-node/bin ]; then
  find onnxruntime-node/bin -mindepth 2 -maxdepth 2 -type d ! -name linux -exec rm -rf {} +
  arch=$(node -p 'process.arch')
  find onnxruntime-node/bin -mindepth 3 -maxdepth 3 -type d ! -name "$arch" -exec rm -rf {} +
fi
