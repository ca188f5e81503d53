"""Every state machine of nuage, as data: tasks, instances, and the storage resources (snapshots,
backups, custom images, volumes), whose tasks move them (`ResourceEffects` in the catalogue).

A machine is a mapping from each state to the states it may move to, and one `transition()` that
refuses a bad move with a plain sentence. Services and the engine move things only through it; the
engine's SQL guards (`WHERE status IN (…)`) are built from `sources_of()`; the diagrams in `docs/`
are generated from `diagram()` and checked by a test.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from nuage.domain.enums import (
    BackupStatus,
    ImageStatus,
    InstanceStatus,
    SnapshotStatus,
    TaskStatus,
    VolumeStatus,
)

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

# A storage resource leaves its machine by removal: a task that deletes it removes its row.
_SN = SnapshotStatus
SNAPSHOTS: StateMachine[SnapshotStatus] = StateMachine(
    noun="snapshot",
    initial=_SN.CREATING,
    transitions={
        _SN.CREATING: frozenset({_SN.AVAILABLE, _SN.ERROR}),
        _SN.AVAILABLE: frozenset({_SN.RESTORING, _SN.DELETING}),
        # a failed or cancelled restore leaves the snapshot as it was
        _SN.RESTORING: frozenset({_SN.AVAILABLE, _SN.ERROR}),
        _SN.DELETING: frozenset({_SN.AVAILABLE, _SN.ERROR}),
        # a retried create makes it again; an unusable one can still be deleted
        _SN.ERROR: frozenset({_SN.CREATING, _SN.DELETING}),
    },
)

_B = BackupStatus
BACKUPS: StateMachine[BackupStatus] = StateMachine(
    noun="backup",
    initial=_B.CREATING,
    transitions={
        _B.CREATING: frozenset({_B.AVAILABLE, _B.ERROR}),
        _B.AVAILABLE: frozenset({_B.RESTORING, _B.DELETING}),
        _B.RESTORING: frozenset({_B.AVAILABLE, _B.ERROR}),
        _B.DELETING: frozenset({_B.AVAILABLE, _B.ERROR}),
        _B.ERROR: frozenset({_B.CREATING, _B.DELETING}),
    },
)

_IM = ImageStatus
IMAGES: StateMachine[ImageStatus] = StateMachine(
    noun="image",
    initial=_IM.CREATING,
    transitions={
        _IM.CREATING: frozenset({_IM.AVAILABLE, _IM.ERROR}),
        _IM.AVAILABLE: frozenset({_IM.DELETING}),
        _IM.DELETING: frozenset({_IM.AVAILABLE, _IM.ERROR}),
        _IM.ERROR: frozenset({_IM.CREATING, _IM.DELETING}),
    },
)

_V = VolumeStatus
VOLUMES: StateMachine[VolumeStatus] = StateMachine(
    noun="volume",
    initial=_V.CREATING,
    transitions={
        _V.CREATING: frozenset({_V.IN_USE, _V.AVAILABLE, _V.ERROR}),
        # available <-> in-use directly: sync adopting a volume attached or detached behind
        # nuage's back (engine/volume_drift.py); tasks pass through attaching and detaching.
        _V.AVAILABLE: frozenset({_V.ATTACHING, _V.RESIZING, _V.DELETING, _V.IN_USE}),
        _V.ATTACHING: frozenset({_V.IN_USE, _V.AVAILABLE, _V.ERROR}),
        _V.IN_USE: frozenset({_V.DETACHING, _V.RESIZING, _V.AVAILABLE}),
        _V.DETACHING: frozenset({_V.AVAILABLE, _V.IN_USE, _V.ERROR}),
        _V.RESIZING: frozenset({_V.AVAILABLE, _V.IN_USE, _V.ERROR}),
        _V.DELETING: frozenset({_V.AVAILABLE, _V.ERROR}),
        _V.ERROR: frozenset({_V.CREATING, _V.ATTACHING, _V.DETACHING, _V.DELETING}),
    },
)
