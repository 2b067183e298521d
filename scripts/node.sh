#!/bin/sh
# Runs a script with the real node binary, replacing this shell (exec), so the
# SIGINT / SIGTERM that pnpm forwards to its child reach the program itself.
# `node_modules/.bin/node` (from the `node` devDependency) is a shell wrapper
# that runs node as a child and forwards no signal: stopping pnpm would leave
# the program running.
real=$(node -p process.execPath) || exit 1
exec "$real" "$@"
