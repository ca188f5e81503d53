#!/usr/bin/env bash
# The whole suite as four pytest processes at once. The machine has two cores, but much of the
# suite waits (emulated boots, spawned servers and CLIs, simulated hypervisor latency), so four
# keep both cores busy where fewer left them idle for minutes:
#   drivers: tests/drivers (the driver contract, most of it on real emulated guests);
#   guests:  tests/e2e, tests/client, tests/web (real guests through the API, servers, a browser);
#   api:     tests/api (the HTTP API in process, on both databases);
#   rest:    everything else (contract and schemathesis, engine, PostgreSQL processes, domain).
# The drivers were in the guests group until it became the one that set the suite's time: about
# 23 minutes of boots and waits with the machine's cores idle once the other groups had ended.
# Each keeps its own temporary directory and log, printed when it ends, with its slowest tests,
# and a JUnit report beside the log with every test's time; all must pass. With arguments, one plain pytest run.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTEST=.venv/bin/pytest
if [ "$#" -gt 0 ]; then
    exec "$PYTEST" "$@"
fi
GUESTS=(tests/e2e tests/client tests/web)
GROUPS_RUN=(drivers guests api rest)
declare -A ARGS=(
    [drivers]="tests/drivers"
    [guests]="${GUESTS[*]}"
    [api]="tests/api"
    [rest]="$(printf -- '--ignore=%s ' tests/drivers "${GUESTS[@]}") --ignore=tests/api"
)
declare -A PIDS LOGS
for group in "${GROUPS_RUN[@]}"; do
    LOGS[$group]=$(mktemp "/tmp/nuage-tests-$group.XXXXXX.log")
    # shellcheck disable=SC2086  # the group's arguments are words
    "$PYTEST" ${ARGS[$group]} --durations=15 --junitxml="${LOGS[$group]%.log}.xml" \
        --basetemp="$(mktemp -d "/tmp/nuage-pytest-$group.XXXXXX")" >"${LOGS[$group]}" 2>&1 &
    PIDS[$group]=$!
done
failed=()
for group in "${GROUPS_RUN[@]}"; do
    wait "${PIDS[$group]}"
    status=$?
    echo
    echo "== $group: ${ARGS[$group]} (log: ${LOGS[$group]})"
    cat "${LOGS[$group]}"
    [ "$status" -ne 0 ] && failed+=("$group: exit $status")
done
if [ "${#failed[@]}" -ne 0 ]; then
    echo "make test: FAILED (${failed[*]})" >&2
    exit 1
fi
echo "make test: all ${#GROUPS_RUN[@]} groups passed"
