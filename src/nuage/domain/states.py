"""Every state machine of nuage, as data: tasks and instances (snapshots, volumes and the other
resources' machines join here as they come).

A machine is a mapping from each state to the states it may move to, and one `transition()` that
refuses a bad move with a plain sentence. Services and the engine move things only through it; the
engine's SQL guards (`WHERE status IN (…)`) are built from `sources_of()`; the diagrams in `docs/`
are generated from `diagram()` and checked by a test.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from nuage.domain.enums import InstanceStatus, TaskStatus

S = TypeVar("S", bound=StrEnum)


class IllegalTransition(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class StateMachine(Generic[S]):
    noun: str  # "task", "instance": the refusal says "A running task cannot become pending."
    initial: S
    transitions: Mapping[S, frozenset[S]]
    stays_legal: bool = False  # whether "moving" to the current state is allowed (no change)

    def transition(self, current: S, target: S) -> S:
        """Return `target` if the thing may move there from `current`; refuse otherwise."""
        if target not in self.transitions[current] and not (self.stays_legal and target == current):
            raise IllegalTransition(f"A {current} {self.noun} cannot become {target}.")
        return target

    def allows(self, current: S, target: S) -> bool:
        return target in self.transitions[current] or (self.stays_legal and target == current)

    def sources_of(self, target: S) -> frozenset[S]:
        """The states from which `target` may be reached (for `WHERE status IN (…)` guards)."""
        return frozenset(s for s, nxt in self.transitions.items() if target in nxt)

    @property
    def terminal(self) -> frozenset[S]:
        return frozenset(s for s, nxt in self.transitions.items() if not nxt)

    def diagram(self) -> str:
        """The machine as a Mermaid state diagram, states in their enum's order."""
        order = list(self.transitions)
        lines = ["stateDiagram-v2", f"    [*] --> {self.initial}"]
        for current in order:
            for target in sorted(self.transitions[current], key=order.index):
                lines.append(f"    {current} --> {target}")
        lines += [f"    {status} --> [*]" for status in order if status in self.terminal]
        return "\n".join(lines)


_T = TaskStatus
TASKS: StateMachine[TaskStatus] = StateMachine(
    noun="task",
    initial=_T.PENDING,
    transitions={
        _T.PENDING: frozenset({_T.RUNNING, _T.CANCELLED}),
        # pending again: a transient failure with retries left, an expired lease, a worker stopping
        _T.RUNNING: frozenset({_T.COMPLETED, _T.FAILED, _T.CANCELLED, _T.PENDING}),
        _T.COMPLETED: frozenset(),
        _T.FAILED: frozenset(),
        _T.CANCELLED: frozenset(),
    },
)

_I = InstanceStatus
INSTANCES: StateMachine[InstanceStatus] = StateMachine(
    noun="instance",
    initial=_I.PENDING,
    transitions={
        # created, then built by create_vps (or found missing by sync_vps_state, or cancelled)
        _I.PENDING: frozenset({_I.BUILDING, _I.ERROR, _I.DELETING}),
        _I.BUILDING: frozenset({_I.RUNNING, _I.STOPPED, _I.ERROR, _I.DELETING}),
        _I.RUNNING: frozenset({_I.STOPPED, _I.ERROR, _I.DELETING}),
        _I.STOPPED: frozenset({_I.RUNNING, _I.ERROR, _I.DELETING}),
        # a retried create builds it again; sync_vps_state adopts what the hypervisor has
        _I.ERROR: frozenset({_I.BUILDING, _I.RUNNING, _I.STOPPED, _I.DELETING}),
        _I.DELETING: frozenset({_I.DELETED, _I.ERROR}),
        _I.DELETED: frozenset(),
    },
    stays_legal=True,  # a reboot leaves a running instance running
)
