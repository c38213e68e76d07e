#!/usr/bin/env bash
# expect_error.sh STATUS TEXT COMMAND [ARG...]: passes when COMMAND exits with
# STATUS (1 for bad input, 2 for a bad command line; never a crash, never 0)
# and its stderr contains TEXT, a fixed string. Prints what it saw.
set -u
status=$1 text=$2
shift 2
err=$("$@" 2>&1 >/dev/null)
rc=$?
printf '%s\n' "$err"
if [[ $rc -ne $status ]]; then
  echo "expect_error: exit status $rc, expected $status" >&2
  exit 1
fi
if ! grep -qF -- "$text" <<<"$err"; then
  echo "expect_error: stderr lacks: $text" >&2
  exit 1
fi
