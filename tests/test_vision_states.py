"""The OPC 40100-1 vision state machine: every transition, refusals, and the nodeset's names.

The reference is the OPC Foundation's own nodeset, `shared/opcua/Opc.Ua.MachineVision.NodeSet2.xml`
beside the repository (or in it): each transition we use must be a transition object of
`VisionStateMachineType` or `VisionAutomaticModeStateMachineType` with the same from-state,
to-state and cause.
"""

import threading
import xml.etree.ElementTree as ET
from collections import deque
from pathlib import Path

import pytest

from engine.vision_states import (
    EXECUTING,
    METHODS,
    OPERATIONAL,
    TRANSITIONS,
    TransitionError,
    VisionState,
    VisionStateMachine,
)

S = VisionState
REPO = Path(__file__).resolve().parents[1]
NODESET_NAME = "shared/opcua/Opc.Ua.MachineVision.NodeSet2.xml"
NODESET = next(
    (p for p in (REPO.parent / NODESET_NAME, REPO / NODESET_NAME) if p.is_file()),
    REPO.parent / NODESET_NAME,
)
UA = "{http://opcfoundation.org/UA/2011/03/UANodeSet.xsd}"
MACHINE_TYPES = ("1:VisionStateMachineType", "1:VisionAutomaticModeStateMachineType")


def _path_to(target: VisionState) -> list[str]:
    """Transition names leading from Preoperational (the start) to `target`, found by BFS."""
    paths = {S.PREOPERATIONAL: []}
    queue = deque([S.PREOPERATIONAL])
    while queue:
        state = queue.popleft()
        for transition in TRANSITIONS.values():
            if state in transition.sources and transition.target not in paths:
                paths[transition.target] = [*paths[state], transition.name]
                queue.append(transition.target)
    return paths[target]


def _machine_in(state: VisionState, log: list | None = None) -> VisionStateMachine:
    machine = VisionStateMachine(lambda *change: log.append(change) if log is not None else None)
    for name in _path_to(state):
        machine.fire(name)
    assert machine.state is state
    if log is not None:
        log.clear()
    return machine


def test_every_state_is_reachable_from_preoperational():
    assert VisionStateMachine().state is S.PREOPERATIONAL
    for state in S:
        _machine_in(state)


@pytest.mark.parametrize(
    ("name", "source"),
    [(t.name, s) for t in TRANSITIONS.values() for s in sorted(t.sources)],
)
def test_each_transition_fires_from_each_of_its_sources(name, source):
    changes: list = []
    machine = _machine_in(source, changes)
    transition = machine.fire(name)
    assert transition is TRANSITIONS[name]
    assert machine.state is transition.target
    assert changes == [(source, transition.target, name)]


@pytest.mark.parametrize(
    ("name", "source"),
    [(t.name, s) for t in TRANSITIONS.values() for s in S if s not in t.sources],
)
def test_each_transition_is_refused_outside_its_sources(name, source):
    changes: list = []
    machine = _machine_in(source, changes)
    with pytest.raises(TransitionError) as refused:
        machine.fire(name)
    message = str(refused.value)
    assert name in message and source.path in message
    allowed = machine.allowed_methods()
    assert (", ".join(allowed) if allowed else "none") in message
    assert machine.state is source and changes == []


@pytest.mark.parametrize("state", list(S))
@pytest.mark.parametrize("method", sorted(METHODS))
def test_methods_are_allowed_exactly_where_a_transition_has_them_as_cause(state, method):
    expected = [t for t in TRANSITIONS.values() if t.cause == method and state in t.sources]
    machine = _machine_in(state)
    assert (method in machine.allowed_methods()) == bool(expected)
    if expected:
        (transition,) = expected  # a method causes at most one move from any state
        assert machine.call(method) is transition
        assert machine.state is transition.target
    else:
        with pytest.raises(TransitionError) as refused:
            machine.call(method)
        assert f"{method} is not allowed in state {state.path}" in str(refused.value)
        assert machine.state is state


def test_typical_refusals_name_the_state_and_what_is_allowed():
    halted = _machine_in(S.HALTED)
    with pytest.raises(TransitionError, match=r"state Halted; methods allowed now: Reset$"):
        halted.call("StartContinuous")
    with pytest.raises(TransitionError, match="Halt is not allowed in state Halted"):
        halted.call("Halt")
    initialized = _machine_in(S.INITIALIZED)
    with pytest.raises(TransitionError) as refused:
        initialized.call("StartSingleJob")
    assert "Operational/Initialized" in str(refused.value)
    assert "Halt, PrepareRecipe, Reset" in str(refused.value)
    # Reset is allowed in Initialized (OperationalToPreoperational covers every sub-state)
    assert initialized.call("Reset").name == "OperationalToPreoperational"
    with pytest.raises(TransitionError, match="Jump: no such method"):
        initialized.call("Jump")


def test_allowed_methods_per_state():
    allowed = {state: _machine_in(state).allowed_methods() for state in S}
    assert allowed[S.PREOPERATIONAL] == ["Halt"]
    assert allowed[S.HALTED] == ["Reset"]
    assert allowed[S.ERROR] == ["Halt", "Reset"]
    assert allowed[S.INITIALIZED] == ["Halt", "PrepareRecipe", "Reset"]
    assert allowed[S.READY] == [
        "Halt",
        "Reset",
        "StartContinuous",
        "StartSingleJob",
        "UnprepareRecipe",
    ]
    for state in EXECUTING:
        assert allowed[state] == ["Abort", "Halt", "Reset", "Stop"]


def test_paths_and_operational_flag():
    assert S.READY.path == "Operational/Ready" and S.READY.operational
    assert S.HALTED.path == "Halted" and not S.HALTED.operational
    assert {s for s in S if s.operational} == OPERATIONAL
    assert EXECUTING < OPERATIONAL


def test_concurrent_fires_take_the_transition_exactly_once():
    """Two threads racing to end the same job: one wins, the other is refused (thread-safe)."""
    for _ in range(50):
        machine = _machine_in(S.CONTINUOUS_EXECUTION)
        outcomes: list[str] = []
        barrier = threading.Barrier(2)

        def end(name: str, machine=machine, barrier=barrier, outcomes=outcomes) -> None:
            barrier.wait()
            try:
                machine.fire(name)
                outcomes.append("fired")
            except TransitionError:
                outcomes.append("refused")

        threads = [
            threading.Thread(target=end, args=(n,))
            for n in ("ContinuousExecutionToReadyStop", "ContinuousExecutionToReadyAbort")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=5)
        assert sorted(outcomes) == ["fired", "refused"] and machine.state is S.READY


# --- the nodeset ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nodeset() -> dict:
    """{'browse_names': set of all BrowseNames, 'transitions': {name: (from, to, cause)} of the
    two state machine types, 'methods': set of UAMethod BrowseNames}."""
    if not NODESET.is_file():
        pytest.skip(f"{NODESET}: OPC 40100 nodeset not present")
    root = ET.parse(NODESET).getroot()
    by_id = {el.get("NodeId"): el for el in root if el.get("NodeId")}
    types = {el.get("BrowseName"): el.get("NodeId") for el in root if el.tag == UA + "UAObjectType"}
    type_ids = {types[name] for name in MACHINE_TYPES}
    transitions = {}
    for el in root:
        if el.tag != UA + "UAObject" or el.get("ParentNodeId") not in type_ids:
            continue
        refs: dict[str, list[str]] = {}
        for ref in el.iter(UA + "Reference"):
            if ref.get("IsForward", "true") == "true" and ref.text.strip() in by_id:
                target = by_id[ref.text.strip()].get("BrowseName")
                refs.setdefault(ref.get("ReferenceType"), []).append(target)
        if "FromState" in refs:
            causes = refs.get("HasCause", [None])
            transitions[el.get("BrowseName")] = (
                refs["FromState"][0],
                refs["ToState"][0],
                causes[0],
            )
    return {
        "browse_names": {el.get("BrowseName") for el in root if el.get("BrowseName")},
        "transitions": transitions,
        "methods": {el.get("BrowseName") for el in root if el.tag == UA + "UAMethod"},
    }


def test_nodeset_was_parsed(nodeset):
    assert len(nodeset["transitions"]) > 30  # both machine types' transitions were found
    assert "1:ReadyToSingleExecution" in nodeset["transitions"]


@pytest.mark.parametrize("name", sorted(TRANSITIONS))
def test_transition_names_exist_in_the_nodeset(nodeset, name):
    assert f"1:{name}" in nodeset["browse_names"]


@pytest.mark.parametrize("name", sorted(TRANSITIONS))
def test_transitions_match_the_nodeset_states_and_causes(nodeset, name):
    """From-state, to-state and cause as the nodeset has them; Operational is the composite
    state whose sub-states are the four automatic-mode states."""
    transition = TRANSITIONS[name]
    from_state, to_state, cause = nodeset["transitions"][f"1:{name}"]
    if from_state == "1:Operational":
        assert transition.sources == OPERATIONAL
    else:
        assert {f"1:{s.value}" for s in transition.sources} == {from_state}
    if to_state == "1:Operational":
        assert transition.target in OPERATIONAL
    else:
        assert f"1:{transition.target.value}" == to_state
    assert (f"1:{transition.cause}" if transition.cause else None) == cause
    assert name.endswith("Auto") == (transition.cause is None)


@pytest.mark.parametrize("state", [*(s.value for s in S), "Operational"])
def test_state_names_exist_in_the_nodeset(nodeset, state):
    assert f"1:{state}" in nodeset["browse_names"]


@pytest.mark.parametrize("method", sorted(METHODS))
def test_method_names_exist_in_the_nodeset(nodeset, method):
    assert f"1:{method}" in nodeset["methods"]
