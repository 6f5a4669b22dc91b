"""The OPC 40100-1 information model on an asyncua server: the nodeset, one VisionSystemType
object, and the two state variables that mirror the station's state.

The object has the type's mandatory members plus the optional ones this station implements
(ConfigurationManagement, RecipeManagement, ResultManagement, the AutomaticModeStateMachine,
SelectModeAutomatic), each with its own mandatory members: a client browsing it finds exactly
what answers, and a method that is there works. `NOT_OFFERED` lists what is left out. Its
nodes live in the station's own namespace (string NodeIds such as
`VisionSystem.VisionStateMachine.CurrentState`); their BrowseNames are the nodeset's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from asyncua import Node, Server, ua
from asyncua.common.instantiate_util import instantiate

from engine.vision_states import VisionState

log = logging.getLogger(__name__)

NODESET = Path(__file__).with_name("nodesets") / "Opc.Ua.MachineVision.NodeSet2.xml"
MV_URI = "http://opcfoundation.org/UA/MachineVision"
VISION_SYSTEM_TYPE = 1003  # ns=MV;i=1003 VisionSystemType
CONFIGURATION_MANAGEMENT_TYPE = 1006
RECIPE_MANAGEMENT_TYPE = 1004
RESULT_MANAGEMENT_TYPE = 1007
AUTOMATIC_MODE_TYPE = 1021  # VisionAutomaticModeStateMachineType
RESULT_READY_EVENT_TYPE = 1024  # ns=MV;i=1024 ResultReadyEventType
OBJECT_NAME = "VisionSystem"

# The state objects of VisionStateMachineType / VisionAutomaticModeStateMachineType: what
# CurrentState.Id points at (OPC 10000-5 B.4: the Id is the NodeId of the state object).
STATE_NODES = {
    "Preoperational": 5028,
    "Halted": 5029,
    "Error": 5030,
    "Operational": 5031,
    "Initialized": 5056,
    "Ready": 5057,
    "SingleExecution": 5058,
    "ContinuousExecution": 5059,
}

# Optional members not implemented (paths below the VisionSystem object); docs/opcua.md says
# why. The tests check that none is there.
NOT_OFFERED = (
    ("SafetyStateManagement",),
    ("DiagnosticLevel",),
    ("SystemState",),
    ("VisionStateMachine", "ConfirmAll"),
    ("VisionStateMachine", "ErrorStepModel"),
    ("VisionStateMachine", "HaltedStepModel"),
    ("VisionStateMachine", "PreoperationalStepModel"),
    ("VisionStateMachine", "AutomaticModeStateMachine", "SimulationMode"),
    ("VisionStateMachine", "AutomaticModeStateMachine", "InitializedStepModel"),
    ("VisionStateMachine", "AutomaticModeStateMachine", "ReadyStepModel"),
    ("VisionStateMachine", "AutomaticModeStateMachine", "SingleExecutionStepModel"),
    ("VisionStateMachine", "AutomaticModeStateMachine", "ContinuousExecutionStepModel"),
    ("ConfigurationManagement", "AddConfiguration"),
    ("ConfigurationManagement", "RemoveConfiguration"),
    ("ConfigurationManagement", "ReleaseConfigurationHandle"),
    ("ConfigurationManagement", "Configurations"),
    ("ConfigurationManagement", "ConfigurationTransfer"),
    ("RecipeManagement", "AddRecipe"),
    ("RecipeManagement", "RemoveRecipe"),
    ("RecipeManagement", "ReleaseRecipeHandle"),
    ("RecipeManagement", "PrepareProduct"),
    ("RecipeManagement", "UnprepareProduct"),
    ("RecipeManagement", "UnlinkProduct"),
    ("RecipeManagement", "Products"),
    ("RecipeManagement", "Recipes"),
    ("RecipeManagement", "RecipeTransfer"),
    ("ResultManagement", "ReleaseResultHandle"),
    ("ResultManagement", "Results"),
    ("ResultManagement", "ResultTransfer"),
)

# Every method the adapter links, by its path below the VisionSystem object.
METHODS = {
    "Halt": ("VisionStateMachine", "Halt"),
    "Reset": ("VisionStateMachine", "Reset"),
    "SelectModeAutomatic": ("VisionStateMachine", "SelectModeAutomatic"),
    **{
        name: ("VisionStateMachine", "AutomaticModeStateMachine", name)
        for name in ("StartSingleJob", "StartContinuous", "Stop", "Abort")
    },
    **{
        name: ("RecipeManagement", name)
        for name in ("PrepareRecipe", "UnprepareRecipe", "GetRecipeListFiltered")
    },
    **{
        name: ("ResultManagement", name)
        for name in ("GetResultById", "GetResultComponentsById", "GetResultListFiltered")
    },
    **{
        name: ("ConfigurationManagement", name)
        for name in ("GetConfigurationList", "GetConfigurationById", "ActivateConfiguration")
    },
}


@dataclass
class VisionModel:
    """Handles on the nodes the adapter writes to or links."""

    server: Server
    ns: int  # the MachineVision namespace index
    own_ns: int  # the station's namespace: the object's NodeIds and the result content keys
    system: Node
    state: Node  # VisionStateMachine.CurrentState
    state_id: Node
    mode_state: Node  # VisionStateMachine.AutomaticModeStateMachine.CurrentState
    mode_state_id: Node
    active_configuration: Node
    methods: dict[str, Node] = field(default_factory=dict)

    def child_path(self, *names: str) -> list[str]:
        return [f"{self.ns}:{name}" for name in names]

    async def show_state(self, state: VisionState) -> None:
        """Write the station's state: the top-level state, and the automatic-mode sub-state
        while Operational (empty text and a null Id otherwise: that machine is not active)."""
        top = "Operational" if state.operational else state.value
        sub = state.value if state.operational else None
        await self._write(self.state, ua.LocalizedText(top))
        await self._write(self.state_id, ua.NodeId(STATE_NODES[top], self.ns))
        await self._write(self.mode_state, ua.LocalizedText(sub or ""))
        await self._write(
            self.mode_state_id, ua.NodeId(STATE_NODES[sub], self.ns) if sub else ua.NodeId()
        )

    async def _write(self, node: Node, value: object) -> None:
        await self.server.write_attribute_value(node.nodeid, ua.DataValue(ua.Variant(value)))


async def build_model(server: Server, own_uri: str) -> VisionModel:
    """Load the nodeset, make the VisionSystem object and return the handles. Takes about a
    second (importing ~790 nodes)."""
    imported = await server.import_xml(str(NODESET))
    ns = await server.get_namespace_index(MV_URI)
    own_ns = await server.register_namespace(own_uri)
    await server.load_data_type_definitions()
    await _complete_definitions(server, imported)  # after: for the clients, not for this side
    system = await server.nodes.objects.add_object(
        ua.NodeId(OBJECT_NAME, own_ns),
        ua.QualifiedName(OBJECT_NAME, own_ns),
        objecttype=ua.NodeId(VISION_SYSTEM_TYPE, ns),
        instantiate_optional=False,
    )
    await _add_optional(server, system, ns)
    machine = [f"{ns}:VisionStateMachine"]
    mode = [*machine, f"{ns}:AutomaticModeStateMachine"]
    state = await system.get_child([*machine, "0:CurrentState"])
    mode_state = await system.get_child([*mode, "0:CurrentState"])
    model = VisionModel(
        server=server,
        ns=ns,
        own_ns=own_ns,
        system=system,
        state=state,
        state_id=await state.get_child("0:Id"),
        mode_state=mode_state,
        mode_state_id=await mode_state.get_child("0:Id"),
        active_configuration=await system.get_child(
            [f"{ns}:ConfigurationManagement", f"{ns}:ActiveConfiguration"]
        ),
    )
    for name, path in METHODS.items():
        model.methods[name] = await system.get_child(model.child_path(*path))
    return model


async def _complete_definitions(server: Server, imported: list) -> None:
    """Give the structures whose nodeset Definition is empty (RecipeIdExternalDataType,
    RecipeIdInternalDataType, ConfigurationIdDataType: subtypes of BinaryIdBaseDataType that
    add no field) a DataTypeDefinition with the fields they inherit. Without it a client in
    another process cannot build these types, nor ResultDataType, which holds them: asyncua's
    load_data_type_definitions fails on them."""
    for nodeid in imported:
        node = server.get_node(nodeid)
        if await node.read_node_class() is ua.NodeClass.DataType:
            await _definition(server, node)


async def _definition(server: Server, node: Node) -> ua.StructureDefinition | None:
    """The node's StructureDefinition, first written from its supertype's when it has none."""
    try:
        definition = await node.read_data_type_definition()
    except ua.UaStatusCodeError:
        definition = None
    if definition is not None:
        return definition if isinstance(definition, ua.StructureDefinition) else None
    parents = await node.get_referenced_nodes(ua.ObjectIds.HasSubtype, ua.BrowseDirection.Inverse)
    if not parents or parents[0].nodeid.NamespaceIndex == 0:
        return None  # a base type alias (e.g. a String subtype): nothing to inherit
    inherited = await _definition(server, parents[0])
    if inherited is None:
        return None
    encodings = await node.get_references(ua.ObjectIds.HasEncoding)
    binary = [r.NodeId for r in encodings if r.BrowseName.Name == "Default Binary"]
    definition = ua.StructureDefinition(
        DefaultEncodingId=binary[0] if binary else ua.NodeId(),
        BaseDataType=parents[0].nodeid,
        StructureType=inherited.StructureType,
        Fields=list(inherited.Fields),
    )
    await server.write_attribute_value(
        node.nodeid, ua.DataValue(ua.Variant(definition)), ua.AttributeIds.DataTypeDefinition
    )
    log.debug("DataTypeDefinition of %s completed from its supertype", node.nodeid)
    return definition


async def _add_optional(server: Server, system: Node, ns: int) -> None:
    """The optional members the station implements, each with its type's mandatory members
    only (instantiating everything and deleting the rest costs seconds in asyncua)."""
    machine = await system.get_child(f"{ns}:VisionStateMachine")
    for parent, name, type_id in (
        (system, "ConfigurationManagement", CONFIGURATION_MANAGEMENT_TYPE),
        (system, "RecipeManagement", RECIPE_MANAGEMENT_TYPE),
        (system, "ResultManagement", RESULT_MANAGEMENT_TYPE),
        (machine, "AutomaticModeStateMachine", AUTOMATIC_MODE_TYPE),
    ):
        await instantiate(
            parent,
            server.get_node(ua.NodeId(type_id, ns)),
            nodeid=ua.NodeId(f"{parent.nodeid.Identifier}.{name}", parent.nodeid.NamespaceIndex),
            bname=ua.QualifiedName(name, ns),
            instantiate_optional=False,
        )
    error = ua.Argument(Name="Error", DataType=ua.NodeId(ua.ObjectIds.Int32), ValueRank=-1)
    where = machine.nodeid
    await machine.add_method(
        ua.NodeId(f"{where.Identifier}.SelectModeAutomatic", where.NamespaceIndex),
        ua.QualifiedName("SelectModeAutomatic", ns),
        None,
        [],
        [error],
    )
