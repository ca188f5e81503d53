"""The task state machine, and docs/task-states.md, whose diagram must match TASK_TRANSITIONS."""

from itertools import product
from pathlib import Path

import pytest

from nuage.domain.enums import TaskStatus
from nuage.domain.tasks import (
    ACTIVE,
    RETRYABLE_BY_USER,
    TASK_TRANSITIONS,
    TERMINAL,
    IllegalTransition,
    is_terminal,
    transition,
)

S = TaskStatus
ALLOWED = {
    (S.PENDING, S.RUNNING),
    (S.PENDING, S.CANCELLED),
    (S.RUNNING, S.COMPLETED),
    (S.RUNNING, S.FAILED),
    (S.RUNNING, S.CANCELLED),
    (S.RUNNING, S.PENDING),  # a transient failure with retries left, or an expired lease
}
DOC = Path(__file__).resolve().parents[2] / "docs" / "task-states.md"


def test_every_status_has_an_entry() -> None:
    assert set(TASK_TRANSITIONS) == set(TaskStatus)


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_allowed_transitions(current: TaskStatus, target: TaskStatus) -> None:
    assert transition(current, target) is target


REFUSED = sorted(set(product(TaskStatus, TaskStatus)) - ALLOWED)


@pytest.mark.parametrize(("current", "target"), REFUSED)
def test_refused_transitions(current: TaskStatus, target: TaskStatus) -> None:
    with pytest.raises(IllegalTransition) as caught:
        transition(current, target)
    assert str(caught.value) == f"A {current} task cannot become {target}."


def test_refusal_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"^A completed task cannot become running\.$"):
        transition(S.COMPLETED, S.RUNNING)


def test_terminal_states_have_no_way_out() -> None:
    assert {S.COMPLETED, S.FAILED, S.CANCELLED} == TERMINAL
    for status in TERMINAL:
        assert TASK_TRANSITIONS[status] == frozenset()
        assert is_terminal(status)
    assert {S.PENDING, S.RUNNING} == ACTIVE
    assert not any(is_terminal(s) for s in ACTIVE)


def test_users_retry_only_failed_or_cancelled_tasks() -> None:
    assert {S.FAILED, S.CANCELLED} == RETRYABLE_BY_USER
    assert RETRYABLE_BY_USER <= TERMINAL


def test_every_state_is_reachable_from_pending() -> None:
    seen, todo = {S.PENDING}, [S.PENDING]
    while todo:
        for target in TASK_TRANSITIONS[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    assert seen == set(TaskStatus)


def mermaid_diagram() -> str:
    """The state diagram of docs/task-states.md, generated from TASK_TRANSITIONS.

    Tasks are created pending; terminal states (no transition out) end the diagram.
    """
    order = list(TaskStatus)
    lines = ["stateDiagram-v2", f"    [*] --> {TaskStatus.PENDING}"]
    for current in order:
        for target in sorted(TASK_TRANSITIONS[current], key=order.index):
            lines.append(f"    {current} --> {target}")
    lines += [f"    {status} --> [*]" for status in order if is_terminal(status)]
    return "\n".join(lines)


def test_doc_diagram_matches_the_code() -> None:
    """If this fails, paste `mermaid_diagram()`'s output into docs/task-states.md."""
    text = DOC.read_text(encoding="utf-8")
    assert f"```mermaid\n{mermaid_diagram()}\n```" in text, mermaid_diagram()


def test_doc_lists_every_status() -> None:
    text = DOC.read_text(encoding="utf-8")
    for status in TaskStatus:
        assert f"`{status}`" in text, status
