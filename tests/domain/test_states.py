"""The state machines of `domain/states.py`: the instance machine, the catalogue's effects on it,
and docs/task-states.md, whose diagrams must be the machines' own."""

from itertools import product
from pathlib import Path

import pytest

from nuage.domain.catalogue import AT_REST, CATALOGUE, RESOURCE_STATES, Resource, TaskSpec
from nuage.domain.enums import InstanceStatus, TaskStatus
from nuage.domain.states import (
    BACKUPS,
    IMAGES,
    INSTANCES,
    SNAPSHOTS,
    TASKS,
    VOLUMES,
    IllegalTransition,
    StateMachine,
)

S = InstanceStatus
DOC = Path(__file__).resolve().parents[2] / "docs" / "task-states.md"
LIVE = frozenset(InstanceStatus) - {S.DELETED}
MACHINES = [TASKS, INSTANCES, SNAPSHOTS, BACKUPS, IMAGES, VOLUMES]


def _moves(spec: TaskSpec) -> list[tuple[InstanceStatus, InstanceStatus, str]]:
    """Every (from, to, why) move a spec's effects make, from every status it may start in."""
    effects, moves = spec.effects, []
    for start in sorted(spec.requires):
        during = effects.while_running or start
        if effects.while_running is not None:
            moves.append((start, during, "while running"))
        for target, why in ((effects.on_success, "success"), (effects.on_failure, "failure")):
            if target is not None:
                moves.append((during, target, why))
        for current in {start, during}:
            after = effects.status_after_cancel(current)
            if after is not None:
                moves.append((current, after, "cancel"))
    if effects.on_unmet_precondition is not None:
        moves += [(s, effects.on_unmet_precondition, "unmet") for s in LIVE - spec.requires]
    return moves


@pytest.mark.parametrize("spec", list(CATALOGUE.values()), ids=lambda s: s.task_type.value)
def test_every_catalogue_effect_is_a_legal_instance_transition(spec: TaskSpec) -> None:
    illegal = [m for m in _moves(spec) if not INSTANCES.allows(m[0], m[1])]
    assert illegal == [], illegal


def test_only_tasks_on_leftovers_may_run_on_a_deleted_instance() -> None:
    """A deleted instance's backups, images and detached volumes still take tasks recorded
    against it; its own types need it live."""
    for spec in CATALOGUE.values():
        if spec.resource is Resource.INSTANCE:
            assert spec.requires <= LIVE, spec.task_type


def test_a_deleted_instance_goes_nowhere() -> None:
    assert INSTANCES.terminal == {S.DELETED}
    for target in InstanceStatus:
        if target is not S.DELETED:
            with pytest.raises(IllegalTransition, match=r"^A deleted instance cannot become"):
                INSTANCES.transition(S.DELETED, target)


def test_an_instance_may_stay_where_it_is_a_task_may_not() -> None:
    assert INSTANCES.transition(S.RUNNING, S.RUNNING) is S.RUNNING  # a reboot
    with pytest.raises(IllegalTransition, match=r"^A running task cannot become running\.$"):
        TASKS.transition(TaskStatus.RUNNING, TaskStatus.RUNNING)


def test_instances_never_skip_their_build_or_their_deletion() -> None:
    assert INSTANCES.sources_of(S.DELETED) == {S.DELETING}
    assert not INSTANCES.allows(S.PENDING, S.RUNNING)
    assert not INSTANCES.allows(S.RUNNING, S.BUILDING)  # reinstall keeps its status


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.noun)
def test_sources_are_the_inverse_of_transitions(machine: StateMachine[TaskStatus]) -> None:
    states = list(machine.transitions)
    for current, target in product(states, states):
        assert (current in machine.sources_of(target)) == (target in machine.transitions[current])


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.noun)
def test_every_state_is_reachable(machine: StateMachine[TaskStatus]) -> None:
    seen, todo = {machine.initial}, [machine.initial]
    while todo:
        for target in machine.transitions[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    assert seen == set(machine.transitions)


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.noun)
def test_doc_diagrams_are_the_machines(machine: StateMachine[TaskStatus]) -> None:
    """If this fails, paste `machine.diagram()` into docs/task-states.md."""
    text = DOC.read_text(encoding="utf-8")
    assert f"```mermaid\n{machine.diagram()}\n```" in text, machine.diagram()


def test_doc_lists_every_instance_status() -> None:
    text = DOC.read_text(encoding="utf-8")
    for status in InstanceStatus:
        assert f"| `{status}` |" in text, status


@pytest.mark.parametrize("spec", CATALOGUE.values(), ids=lambda s: s.task_type.value)
def test_resource_effects_are_legal_moves_of_the_resource(spec: TaskSpec) -> None:
    """A task's resource effects name its resource's statuses, and each move they make from the
    status the request put the resource in is one its machine allows."""
    effects = spec.resource_effects
    if effects is None:
        return
    machine = RESOURCE_STATES[spec.resource]
    status = type(machine.initial)
    requested = effects.on_request or machine.initial.value
    for target in (effects.on_success, effects.on_failure, effects.on_cancel):
        if target == AT_REST:  # a volume's in-use or available, whichever its row says
            rests = {"in-use", "available"} if spec.resource is Resource.VOLUME else {"available"}
            assert all(machine.allows(status(requested), status(s)) for s in rests), requested
        elif target is not None and target != requested:
            assert machine.allows(status(requested), status(target)), (requested, target)
    assert effects.id_param in spec.params.model_fields
