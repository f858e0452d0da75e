#!/usr/bin/env sh
# Runs the demo's tests; the exit code is what Hindsight reads as pass/fail.
cd "$(dirname "$0")" && python3 -m unittest discover -s tests -t . -v
