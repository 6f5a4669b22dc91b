"""The vision system's state machine of OPC 40100-1 (OPC UA for Machine Vision), one to one.

States and transitions carry the specification's BrowseNames (`VisionStateMachineType` and
`VisionAutomaticModeStateMachineType` in `Opc.Ua.MachineVision.NodeSet2.xml`), so an OPC UA
server can mirror the station without a translation table. The station is always in one leaf
state: the four automatic-mode states are the sub-states of Operational.

A transition named `...Auto` is taken by the station itself (the job ended, a fault, start-up
done); the others are caused by a method (Halt, Reset, StartSingleJob, ...), as the nodeset's
HasCause references say.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum


class VisionState(StrEnum):
    PREOPERATIONAL = "Preoperational"
    HALTED = "Halted"
    ERROR = "Error"
    # Operational, automatic mode
    INITIALIZED = "Initialized"
    READY = "Ready"
    SINGLE_EXECUTION = "SingleExecution"
    CONTINUOUS_EXECUTION = "ContinuousExecution"

    @property
    def operational(self) -> bool:
        return self in OPERATIONAL

    @property
    def path(self) -> str:
        """'Operational/Ready' for a sub-state, the name alone otherwise."""
        return f"Operational/{self.value}" if self.operational else self.value


S = VisionState
OPERATIONAL = frozenset({S.INITIALIZED, S.READY, S.SINGLE_EXECUTION, S.CONTINUOUS_EXECUTION})
EXECUTING = frozenset({S.SINGLE_EXECUTION, S.CONTINUOUS_EXECUTION})


@dataclass(frozen=True)
class Transition:
    name: str  # the nodeset's BrowseName
    sources: frozenset[VisionState]
    target: VisionState
    cause: str | None  # the method that causes it; None for an automatic transition


def _t(name: str, sources, target: VisionState, cause: str | None = None) -> Transition:
    sources = frozenset(sources) if isinstance(sources, frozenset | set) else frozenset({sources})
    return Transition(name, sources, target, cause)


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        # VisionStateMachineType
        _t("PreoperationalToInitializedAuto", S.PREOPERATIONAL, S.INITIALIZED),
        _t("PreoperationalToHalted", S.PREOPERATIONAL, S.HALTED, "Halt"),
        _t("PreoperationalToErrorAuto", S.PREOPERATIONAL, S.ERROR),
        _t("OperationalToHalted", OPERATIONAL, S.HALTED, "Halt"),
        _t("OperationalToPreoperational", OPERATIONAL, S.PREOPERATIONAL, "Reset"),
        _t("OperationalToErrorAuto", OPERATIONAL, S.ERROR),
        _t("HaltedToPreoperational", S.HALTED, S.PREOPERATIONAL, "Reset"),
        _t("ErrorToHalted", S.ERROR, S.HALTED, "Halt"),
        _t("ErrorToPreoperational", S.ERROR, S.PREOPERATIONAL, "Reset"),
        # The fault is gone (a camera is back): Operational again, its recipe still prepared.
        _t("ErrorToOperationalAuto", S.ERROR, S.READY),
        # VisionAutomaticModeStateMachineType
        _t("InitializedToReadyRecipe", S.INITIALIZED, S.READY, "PrepareRecipe"),
        _t("ReadyToInitializedRecipe", S.READY, S.INITIALIZED, "UnprepareRecipe"),
        _t("ReadyToSingleExecution", S.READY, S.SINGLE_EXECUTION, "StartSingleJob"),
        _t("SingleExecutionToReadyAuto", S.SINGLE_EXECUTION, S.READY),
        _t("SingleExecutionToReadyStop", S.SINGLE_EXECUTION, S.READY, "Stop"),
        _t("SingleExecutionToReadyAbort", S.SINGLE_EXECUTION, S.READY, "Abort"),
        _t("ReadyToContinuousExecution", S.READY, S.CONTINUOUS_EXECUTION, "StartContinuous"),
        _t("ReadyToContinuousExecutionAuto", S.READY, S.CONTINUOUS_EXECUTION),
        _t("ContinuousExecutionToReadyAuto", S.CONTINUOUS_EXECUTION, S.READY),
        _t("ContinuousExecutionToReadyStop", S.CONTINUOUS_EXECUTION, S.READY, "Stop"),
        _t("ContinuousExecutionToReadyAbort", S.CONTINUOUS_EXECUTION, S.READY, "Abort"),
    )
}
METHODS = frozenset(t.cause for t in TRANSITIONS.values() if t.cause)


class TransitionError(Exception):
    """A method or transition that the current state does not allow; says what is allowed."""


class VisionStateMachine:
    """The current state and the allowed moves; thread-safe. `on_change(old, new, transition)`
    is called after each move, outside the lock."""

    def __init__(self, on_change=None) -> None:
        self._state = VisionState.PREOPERATIONAL
        self._lock = threading.Lock()
        self._on_change = on_change

    @property
    def state(self) -> VisionState:
        return self._state

    def allowed_methods(self) -> list[str]:
        state = self._state
        return sorted({t.cause for t in TRANSITIONS.values() if t.cause and state in t.sources})

    def fire(self, name: str) -> Transition:
        """Take the transition `name`; raises TransitionError if the state does not allow it."""
        transition = TRANSITIONS[name]
        with self._lock:
            old = self._state
            if old not in transition.sources:
                raise TransitionError(
                    f"{name} is not possible in state {old.path}; "
                    f"methods allowed now: {', '.join(self.allowed_methods()) or 'none'}"
                )
            self._state = transition.target
        self._changed(old, transition)
        return transition

    def call(self, method: str) -> Transition:
        """Take the transition that `method` (e.g. 'Halt') causes from the current state."""
        if method not in METHODS:
            raise TransitionError(
                f"{method}: no such method; methods: {', '.join(sorted(METHODS))}"
            )
        with self._lock:
            old = self._state
            for transition in TRANSITIONS.values():
                if transition.cause == method and old in transition.sources:
                    self._state = transition.target
                    break
            else:
                raise TransitionError(
                    f"{method} is not allowed in state {old.path}; "
                    f"methods allowed now: {', '.join(self.allowed_methods()) or 'none'}"
                )
        self._changed(old, transition)
        return transition

    def _changed(self, old: VisionState, transition: Transition) -> None:
        if self._on_change is not None and old is not transition.target:
            self._on_change(old, transition.target, transition.name)
