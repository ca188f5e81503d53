#!/usr/bin/env bash
# The whole suite as two pytest processes at once, on the machine's two cores: the tests that
# drive real guests or spawn servers, the CLI and the browser (tests/drivers, tests/e2e, tests/client,
# tests/web: mostly
# waiting on emulated boots and subprocesses) beside everything else. Each keeps its own temporary directory and log; the
# guests' log is printed when they end; both must pass. With arguments, one plain pytest run.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTEST=.venv/bin/pytest
if [ "$#" -gt 0 ]; then
    exec "$PYTEST" "$@"
fi
guests_log=$(mktemp /tmp/nuage-tests-guests.XXXXXX.log)
"$PYTEST" tests/drivers tests/e2e tests/client tests/web --basetemp="$(mktemp -d /tmp/nuage-pytest-guests.XXXXXX)" \
    >"$guests_log" 2>&1 &
guests=$!
"$PYTEST" --ignore=tests/drivers --ignore=tests/e2e --ignore=tests/client --ignore=tests/web \
    --basetemp="$(mktemp -d /tmp/nuage-pytest-rest.XXXXXX)"
rest=$?
wait "$guests"
guests_status=$?
echo
echo "== tests/drivers, tests/e2e, tests/client and tests/web (run beside the rest; log: $guests_log)"
cat "$guests_log"
if [ "$rest" -ne 0 ] || [ "$guests_status" -ne 0 ]; then
    echo "make test: FAILED (the rest: exit $rest; drivers, e2e, client and web: exit $guests_status)" >&2
    exit 1
fi
