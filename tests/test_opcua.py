"""The OPC UA for Machine Vision server (engine/line/opcua.py) against a real asyncua client.

One station (tiny bundle, a folder of parts in a software-trigger run) and one server are
shared by the module, because importing the nodeset takes about a second; the tests run in file
order and each leaves the station Ready in its run. The client logs in with username and
password over Basic256Sha256 Sign & Encrypt, as a line's client would.
"""

import asyncio
import contextlib
import hashlib
import json
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from asyncua import Client, ua
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

from bench.mosquitto import free_port
from engine.events import RunStarted
from engine.line.opcua import OpcUaConfig, OpcUaError, OpcUaServer
from engine.line.opcua_model import NODESET, NOT_OFFERED
from engine.line.opcua_security import (
    CERT_FILE,
    SecurityError,
    check_password_hash,
    ensure_certificate,
    hash_password,
    verify_password,
)
from engine.recipes import Recipe, RecipeBook
from engine.recorder import open_store
from engine.station import Station
from engine.vision_states import TransitionError, VisionState
from tests.parts import write_parts
from tests.waiting import wait_until
from training.tiny_bundle import make_tiny_bundle

REPO = Path(__file__).resolve().parents[1]
MV = "http://opcfoundation.org/UA/MachineVision"
USER, PASSWORD = "line", "s3cret-line"
CLIENT_URI = "urn:inspection-station:test-client"
TIMEOUT = 5.0
# 80 parts: every 5th is NG (the tiny bundle calls a bright square NG)
VERDICTS = "OOOONOOOON" * 8
BadInvalidState = ua.StatusCodes.BadInvalidState


class Line:
    """The shared station, its software-trigger run and its OPC UA server."""

    def __init__(self, root: Path) -> None:
        bundle = make_tiny_bundle(root / "bundle")
        self.parts = write_parts(root / "parts", VERDICTS)
        self.book = RecipeBook(
            {
                "a": Recipe("a", str(bundle), name="Part A"),
                "b": Recipe("b", str(bundle), name="Part B"),
                "broken": Recipe("broken", str(root / "no-such-bundle")),
            },
            default="a",
        )
        self.store = open_store(root / "out")
        self.station = Station(self.store, provider="cpu", trigger_timeout_s=2.0)
        self.station.prepare(self.book.get("a"), "test")
        self.client_pki = root / "client-pki"
        self.config = OpcUaConfig(
            port=free_port(),
            username=USER,
            password_hash=hash_password(PASSWORD, iterations=1000),
            cert_dir=root / "pki",
        )
        self.server = OpcUaServer(self.station, self.book, self.config)
        self.run_thread: threading.Thread | None = None
        self.used = 0  # parts of the folder triggered so far (each trigger takes the next)

    @property
    def url(self) -> str:
        return self.config.endpoint

    def ensure_run(self) -> None:
        """A software-trigger run over the rest of the folder, taking triggers."""
        if self.run_thread is None or not self.run_thread.is_alive():
            started = threading.Event()
            unsubscribe = self.station.subscribe(
                lambda e: started.set() if isinstance(e, RunStarted) else None
            )
            self.run_thread = threading.Thread(
                target=self.station.run,
                args=(self.parts, "software"),
                kwargs={"resume": True},
                daemon=True,
            )
            self.run_thread.start()
            assert started.wait(TIMEOUT), "the run did not start"
            unsubscribe()
        wait_until(lambda: self.station.taking_triggers, what="the station to take triggers")

    def stop(self) -> None:
        self.server.close()
        if self.run_thread is not None and self.run_thread.is_alive():
            self.station.abort()
            self.run_thread.join(TIMEOUT)
        self.store.close()


@pytest.fixture(scope="module")
def line(tmp_path_factory):
    shared = Line(tmp_path_factory.mktemp("opcua"))
    started = time.perf_counter()
    shared.server.start()
    shared.start_s = time.perf_counter() - started
    try:
        shared.ensure_run()
        yield shared
    finally:
        shared.stop()


@pytest.fixture()
def ready(line) -> "Line":
    line.ensure_run()
    return line


@contextlib.asynccontextmanager
async def connect(line: Line, user: str | None = USER, password: str | None = PASSWORD):
    """A client over Basic256Sha256 Sign & Encrypt with its own certificate."""
    client = Client(line.url, timeout=TIMEOUT)
    client.application_uri = CLIENT_URI
    cert = ensure_certificate(line.client_pki, CLIENT_URI, "127.0.0.1")
    await client.set_security(
        SecurityPolicyBasic256Sha256,
        str(cert.cert_path),
        str(cert.key_path),
        mode=ua.MessageSecurityMode.SignAndEncrypt,
    )
    if user is not None:
        client.set_user(user)
        client.set_password(password)
    async with client:
        await client.load_data_type_definitions()
        yield client


class Vision:
    """The VisionSystem object as a client finds it by browsing."""

    def __init__(self, client: Client, ns: int, system) -> None:
        self.client, self.ns, self.system = client, ns, system

    @classmethod
    async def find(cls, client: Client) -> "Vision":
        ns = await client.get_namespace_index(MV)
        for child in await client.nodes.objects.get_children():
            definition = await child.read_type_definition()
            if definition == ua.NodeId(1003, ns):  # VisionSystemType
                return cls(client, ns, child)
        raise AssertionError("no VisionSystemType object under Objects")

    def path(self, *names: str) -> list[str]:
        return [f"{self.ns}:{name}" for name in names]

    async def node(self, *names: str):
        return await self.system.get_child(self.path(*names))

    async def states(self) -> tuple[str, str]:
        top = await self.node("VisionStateMachine")
        mode = await self.node("VisionStateMachine", "AutomaticModeStateMachine")
        return (
            (await (await top.get_child("0:CurrentState")).read_value()).Text,
            (await (await mode.get_child("0:CurrentState")).read_value()).Text,
        )

    async def call(self, owner: tuple[str, ...], method: str, *args):
        node = await self.node(*owner)
        return await node.call_method(f"{self.ns}:{method}", *args)

    async def start_single_job(self, part_id: str, meas_id: str = "", recipe_id: str = ""):
        return await self.call(
            AUTO,
            "StartSingleJob",
            ua.MeasIdDataType(Id=meas_id),
            ua.PartIdDataType(Id=part_id),
            ua.RecipeIdExternalDataType(Id=recipe_id),
            ua.ProductIdDataType(Id=""),
            ua.Variant([], ua.VariantType.Variant),
        )

    async def start_continuous(self, meas_id: str = ""):
        return await self.call(
            AUTO,
            "StartContinuous",
            ua.MeasIdDataType(Id=meas_id),
            ua.PartIdDataType(Id=""),
            ua.RecipeIdExternalDataType(Id=""),
            ua.ProductIdDataType(Id=""),
            ua.Variant([], ua.VariantType.Variant),
        )

    async def get_result(self, result_id: int):
        _, result, error = await self.call(
            ("ResultManagement",),
            "GetResultById",
            ua.ResultIdDataType(Id=str(result_id)),
            ua.Variant(0, ua.VariantType.Int32),
        )
        assert error == 0
        return result

    async def subscribe_results(self) -> "Events":
        events = Events()
        subscription = await self.client.create_subscription(0, events)
        event_type = self.client.get_node(ua.NodeId(1024, self.ns))  # ResultReadyEventType
        await subscription.subscribe_events(self.system, event_type)
        return events


AUTO = ("VisionStateMachine", "AutomaticModeStateMachine")
CAUSE = (ua.Variant(0, ua.VariantType.Int32), "test")


class Events:
    """Subscription handler: ResultReady events with the time each arrived."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue = asyncio.Queue()

    def event_notification(self, event) -> None:
        self.queue.put_nowait((time.perf_counter(), event))

    async def next(self, timeout: float = TIMEOUT):
        return await asyncio.wait_for(self.queue.get(), timeout)


def content(items) -> dict:
    """ResultContent (Variants of KeyValuePairs) as a plain dict."""
    pairs = [item.Value if isinstance(item, ua.Variant) else item for item in items]
    return {pair.Key.Name: pair.Value.Value for pair in pairs}


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 30))


def expect_refused(code: int):
    return pytest.raises(ua.UaStatusCodeError, match=re.escape(ua.StatusCode(code).name))


# --- tests --------------------------------------------------------------------------------


def test_the_shipped_nodeset_is_the_released_file_with_its_licence():
    data = NODESET.read_bytes()
    readme = (NODESET.parent / "README.md").read_text()
    assert hashlib.sha256(data).hexdigest() in readme
    assert hashlib.sha256(data).hexdigest() == (
        "3e67454155a9618e0981aa8b3ee248f7a9ee216f9f915b53eb26a69533c0cc62"
    )
    assert b"OPC Foundation MIT License 1.00" in data[:2000]


def test_browse_to_the_vision_system_whose_state_is_the_stations(ready):
    async def check():
        async with connect(ready) as client:
            vision = await Vision.find(client)
            assert (await vision.system.read_browse_name()).Name == "VisionSystem"
            assert ready.station.state is VisionState.READY
            assert await vision.states() == ("Operational", "Ready")
            machine = await vision.node("VisionStateMachine")
            state_id = await (await machine.get_child(["0:CurrentState", "0:Id"])).read_value()
            assert state_id == ua.NodeId(5031, vision.ns)  # the Operational state object
            names = {(await c.read_browse_name()).Name for c in await vision.system.get_children()}
            assert {"VisionStateMachine", "RecipeManagement", "ResultManagement"} <= names
            assert "ConfigurationManagement" in names
            for path in NOT_OFFERED:  # what is not implemented is not offered
                with pytest.raises(ua.UaStatusCodeError):
                    await vision.node(*path)

    run(check())


def test_start_single_job_gives_a_result_ready_event_and_get_result_by_id(ready):
    async def check():
        async with connect(ready) as client:
            vision = await Vision.find(client)
            events = await vision.subscribe_results()
            index = ready.used
            job, error = await vision.start_single_job("P-1", meas_id="M-1", recipe_id="a")
            ready.used += 1
            assert error == 0 and job.Id
            _, event = await events.next()
            stored = ready.store.recent(1)[0]
            assert stored.part_id == "P-1" and stored.job_id == job.Id
            assert stored.meas_id == "M-1"  # in the store: a restarted server still knows it
            assert event.ResultId.Id == str(stored.id)
            assert event.JobId.Id == job.Id
            assert event.MeasId.Id == "M-1" and event.PartId.Id == "P-1"
            assert event.ResultState == 1  # Completed
            assert event.IsPartial is False
            assert abs(event.CreationTime.timestamp() - stored.time) < 0.01
            shown = content(event.ResultContent)
            verdict = "NG" if VERDICTS[index] == "N" else "OK"
            assert shown["Verdict"] == stored.verdict == verdict
            assert shown["Score"] == pytest.approx(stored.score)
            assert shown["Threshold"] == pytest.approx(stored.threshold)
            assert shown["RecipeId"] == "a"
            assert shown["BundleDigest"] == stored.bundle_digest
            assert shown["ImagePath"] == stored.image_path

            result = await vision.get_result(stored.id)
            assert result.ResultId.Id == str(stored.id) and result.JobId.Id == job.Id
            assert result.MeasId.Id == "M-1" and result.InternalRecipeId.Id == "a"
            assert content(result.ResultContent) == shown

    run(check())


def test_an_ng_part_carries_its_regions_with_bounding_boxes(ready):
    async def check():
        async with connect(ready) as client:
            vision = await Vision.find(client)
            events = await vision.subscribe_results()
            while VERDICTS[ready.used] != "N":  # take OK parts up to the next NG one
                await vision.start_single_job(f"skip-{ready.used}")
                ready.used += 1
                await events.next()
            server_events = Events()  # the Server object is every event's notifier too
            subscription = await client.create_subscription(0, server_events)
            await subscription.subscribe_events(
                client.nodes.server, client.get_node(ua.NodeId(1024, vision.ns))
            )
            await vision.start_single_job("NG-1")
            ready.used += 1
            _, event = await events.next()
            _, same = await server_events.next()
            assert same.ResultId == event.ResultId and same.SourceNode == vision.system.nodeid
            shown = content(event.ResultContent)
            assert shown["Verdict"] == "NG"
            regions = json.loads(shown["Regions"])
            assert shown["RegionCount"] == len(regions) >= 1
            assert all(len(r["bbox"]) == 4 and r["area_px"] > 0 for r in regions)
            assert shown["ImagePath"] and Path(shown["ImagePath"]).is_file()  # NG archived

    run(check())


def test_thirty_jobs_each_get_their_own_event_in_order(ready):
    """Also the latency a PLC sees: StartSingleJob sent -> ResultReady event received."""

    async def check():
        async with connect(ready) as client:
            vision = await Vision.find(client)
            events = await vision.subscribe_results()
            latencies, jobs = [], []
            for n in range(30):
                sent = time.perf_counter()
                job, _ = await vision.start_single_job(f"batch-{n}")
                ready.used += 1
                received, event = await events.next()
                latencies.append((received - sent) * 1000)
                assert event.JobId.Id == job.Id
                jobs.append((int(event.ResultId.Id), job.Id))
                wait_until(lambda: ready.station.taking_triggers, what="Ready again")
            status = ready.server.status()
            assert status.up and status.clients == 1 and status.events >= 30
            assert status.headline().startswith("1 client · ")
            assert status.last_call == "StartSingleJob: Good"
            ids = [result_id for result_id, _ in jobs]
            assert ids == sorted(ids) and len(set(ids)) == 30
            stored = {r.id: r for r in ready.store.records()}
            assert all(stored[i].job_id == j for i, j in jobs)
            core = sorted(stored[i].latency_ms for i in ids)
            latencies.sort()
            print(
                f"\nStartSingleJob -> ResultReady p50 {latencies[14]:.1f} ms, max "
                f"{latencies[-1]:.1f} ms; core latency p50 {core[14]:.1f} ms"
            )
            return jobs

    jobs = run(check())
    assert len(jobs) == 30


def test_get_result_list_filtered_pages_and_filters(ready):
    async def check():
        async with connect(ready) as client:
            vision = await Vision.find(client)
            empty = ua.JobIdDataType(Id="")

            async def listed(state=0, part="", job=empty, max_results=0, start=0, meas=""):
                return await vision.call(
                    ("ResultManagement",),
                    "GetResultListFiltered",
                    ua.Variant(state, ua.VariantType.Int32),
                    ua.MeasIdDataType(Id=meas),
                    ua.PartIdDataType(Id=part),
                    ua.RecipeIdExternalDataType(Id=""),
                    ua.RecipeIdInternalDataType(Id=""),
                    ua.ConfigurationIdDataType(Id=""),
                    ua.ConfigurationIdDataType(Id=""),
                    ua.ProductIdDataType(Id=""),
                    job,
                    ua.Variant(max_results, ua.VariantType.UInt32),
                    ua.Variant(start, ua.VariantType.UInt32),
                    ua.Variant(0, ua.VariantType.Int32),
                )

            stored = ready.store.records()
            complete, count, _, results, error = await listed(state=1)
            assert complete and error == 0 and count == len(stored) == len(results)
            assert [int(r.ResultId.Id) for r in results] == [r.id for r in stored]
            complete, count, _, results, _ = await listed(max_results=2, start=1)
            assert not complete and count == 2
            assert [int(r.ResultId.Id) for r in results] == [r.id for r in stored[1:3]]
            target = stored[-1]
            _, count, _, results, _ = await listed(part=target.part_id)
            assert count == 1 and results[0].ResultId.Id == str(target.id)
            _, count, _, results, _ = await listed(job=ua.JobIdDataType(Id=target.job_id))
            assert count == 1 and results[0].PartId.Id == target.part_id
            failed = ready.store.add_failure(  # a part that could not be inspected
                run_id="run-x",
                source="cam",
                frame_id="f-1",
                origin="cam",
                error="no frame",
                meas_id="M-9",
            )
            _, count, _, results, _ = await listed(state=4)  # Failed: the ERROR rows
            assert count == 1 and results[0].ResultId.Id == str(failed)
            assert results[0].JobId.Id == "run-x"  # no job id: the run is the job
            shown = content(results[0].ResultContent)
            assert shown["Verdict"] == "ERROR" and shown["Error"] == "no frame"
            assert shown["Score"] is None
            _, count, _, _, _ = await listed(job=ua.JobIdDataType(Id="run-x"))
            assert count == 1
            _, count, _, results, _ = await listed(meas="M-9")  # MeasId: from the store
            assert count == 1 and results[0].MeasId.Id == "M-9"
            _, count, _, _, _ = await listed(meas="M-unknown")
            assert count == 0

    run(check())


def test_result_components_and_the_one_configuration(ready):
    async def check():
        async with connect(ready) as client:
            vision = await Vision.find(client)
            stored = next(r for r in ready.store.recent(50) if r.verdict != "ERROR")
            outputs = await vision.call(
                ("ResultManagement",),
                "GetResultComponentsById",
                ua.ResultIdDataType(Id=str(stored.id)),
                ua.Variant(0, ua.VariantType.Int32),
            )
            assert len(outputs) == 17 and outputs[-1] == 0  # ... ResultContent, Error
            assert outputs[4] == 1 and outputs[6].Id == stored.part_id  # Completed, PartId
            assert outputs[12].Id == (stored.job_id or stored.run_id)
            assert content(outputs[15])["Verdict"] == stored.verdict
            configurations = ("ConfigurationManagement",)
            complete, count, _, listed, error = await vision.call(
                configurations,
                "GetConfigurationList",
                ua.Variant(0, ua.VariantType.UInt32),
                ua.Variant(0, ua.VariantType.UInt32),
                ua.Variant(0, ua.VariantType.Int32),
            )
            assert complete and count == 1 and error == 0
            assert listed[0].InternalId.Id == ready.station.name
            active = await (await vision.node(*configurations, "ActiveConfiguration")).read_value()
            assert active.InternalId.Id == ready.station.name
            this = ua.ConfigurationIdDataType(Id=ready.station.name)
            assert await vision.call(configurations, "ActivateConfiguration", this) == 0
            with expect_refused(ua.StatusCodes.BadNotFound):
                other = ua.ConfigurationIdDataType(Id="other")
                await vision.call(configurations, "ActivateConfiguration", other)

    run(check())


def test_forbidden_calls_are_refused_with_the_standard_status_codes(ready):
    async def check():
        async with connect(ready) as client:
            vision = await Vision.find(client)
            missed = ready.station.missed
            with expect_refused(BadInvalidState):  # a run is on: Stop it first
                await vision.call(("VisionStateMachine",), "Reset", *CAUSE)
            with expect_refused(BadInvalidState):  # Ready: no job to stop
                await vision.call(AUTO, "Stop", *CAUSE)
            with expect_refused(BadInvalidState):
                await vision.call(AUTO, "Abort", *CAUSE)
            with expect_refused(ua.StatusCodes.BadInvalidArgument):  # not the prepared recipe
                await vision.start_single_job("X", recipe_id="b")
            with expect_refused(ua.StatusCodes.BadNotSupported):  # the host starts runs
                await vision.start_continuous("")
            with expect_refused(ua.StatusCodes.BadArgumentsMissing):
                await vision.call(AUTO, "StartSingleJob", ua.MeasIdDataType(Id=""))
            with expect_refused(ua.StatusCodes.BadNotFound):
                await vision.get_result(10**9)
            assert ready.server.status().last_error == "GetResultById: BadNotFound"
            assert ready.station.state is VisionState.READY
            assert ready.station.missed == missed  # refused before any trigger was sent

    run(check())


def test_recipes_are_listed_prepared_and_a_broken_one_keeps_the_old(ready):
    async def check():
        async with connect(ready) as client:
            vision = await Vision.find(client)
            recipes = ("RecipeManagement",)

            async def listed(is_prepared: int) -> list[str]:
                complete, count, _, found, error = await vision.call(
                    recipes,
                    "GetRecipeListFiltered",
                    ua.RecipeIdExternalDataType(Id=""),
                    ua.ProductIdDataType(Id=""),
                    ua.Variant(is_prepared, ua.VariantType.Int32),
                    ua.Variant(0, ua.VariantType.UInt32),
                    ua.Variant(0, ua.VariantType.UInt32),
                    ua.Variant(0, ua.VariantType.Int32),
                )
                assert complete and error == 0 and count == len(found)
                return [r.Id for r in found]

            async def prepare(recipe_id: str):
                return await vision.call(
                    recipes,
                    "PrepareRecipe",
                    ua.RecipeIdExternalDataType(Id=recipe_id),
                    ua.RecipeIdInternalDataType(Id=""),
                )

            assert await listed(2) == ["a", "b", "broken"]  # DONTCARE
            assert await listed(1) == ["a"]  # TRUE: the prepared one
            internal, completed, error = await prepare("b")
            assert completed and error == 0 and internal.Id == "b"
            assert internal.Hash == bytes.fromhex(ready.station.active.inspector.bundle.digest)
            assert ready.station.recipe.id == "b"
            with expect_refused(ua.StatusCodes.BadConfigurationError):
                await prepare("broken")
            assert ready.station.recipe.id == "b"  # the old recipe is kept
            with expect_refused(ua.StatusCodes.BadNotFound):
                await prepare("nope")
            with expect_refused(BadInvalidState):  # a run is on: Stop it first
                await vision.call(
                    recipes,
                    "UnprepareRecipe",
                    ua.RecipeIdExternalDataType(Id="b"),
                    ua.RecipeIdInternalDataType(Id=""),
                )
            assert ready.station.recipe.id == "b"
            await prepare("a")
            assert ready.station.recipe.id == "a"
            switches = [s.requested_by for s in ready.store.recipe_switches()]
            assert switches.count("opcua") == 3  # b, broken (failed), a

    run(check())


def test_unprepare_recipe_goes_to_initialized_until_a_recipe_is_prepared(ready):
    ready.station.stop()  # UnprepareRecipe needs the station Ready with no run on
    ready.run_thread.join(TIMEOUT)
    recipes = ("RecipeManagement",)

    def ids(recipe_id: str) -> tuple:
        return ua.RecipeIdExternalDataType(Id=recipe_id), ua.RecipeIdInternalDataType(Id="")

    async def check():
        async with connect(ready) as client:
            vision = await Vision.find(client)
            active = ready.station.recipe.id
            other = "b" if active != "b" else "a"
            with expect_refused(BadInvalidState):  # not the prepared one
                await vision.call(recipes, "UnprepareRecipe", *ids(other))
            assert await vision.call(recipes, "UnprepareRecipe", *ids(active)) == 0
            assert ready.station.recipe is None
            assert ready.station.state is VisionState.INITIALIZED
            await _until(lambda s: s == ("Operational", "Initialized"), vision)
            with expect_refused(BadInvalidState):  # nothing prepared: nothing to unprepare
                await vision.call(recipes, "UnprepareRecipe", *ids(active))
            switch = ready.store.recipe_switches()[-1]
            assert (switch.from_recipe, switch.to_recipe, switch.requested_by) == (
                active,
                "",
                "opcua",
            )
            _, completed, error = await vision.call(recipes, "PrepareRecipe", *ids(active))
            assert completed and error == 0
            assert ready.station.state is VisionState.READY

    run(check())
    with pytest.raises(TransitionError):  # and never while a run is on
        ready.ensure_run()
        ready.station.unprepare("test")
    assert ready.station.recipe is not None


def test_halt_refuses_jobs_until_reset(ready):
    async def check():
        async with connect(ready) as client:
            vision = await Vision.find(client)
            (error,) = [await vision.call(("VisionStateMachine",), "Halt", *CAUSE)]
            assert error == 0
            wait_until(lambda: ready.station.state is VisionState.HALTED, what="Halted")
            await _until(lambda s: s == ("Halted", ""), vision)
            missed = ready.station.missed
            with expect_refused(BadInvalidState):
                await vision.start_single_job("while-halted")
            assert ready.station.missed == missed + 1  # stored as a missed trigger
            assert ready.store.missed_triggers()[-1].part_id == "while-halted"
            with expect_refused(BadInvalidState):
                await vision.call(("VisionStateMachine",), "SelectModeAutomatic")
            ready.run_thread.join(TIMEOUT)  # the halt ended the run
            assert await vision.call(("VisionStateMachine",), "Reset", *CAUSE) == 0
            assert ready.station.state is VisionState.READY
            await _until(lambda s: s == ("Operational", "Ready"), vision)
            assert await vision.call(("VisionStateMachine",), "SelectModeAutomatic") == 0

    run(check())


async def _until(predicate, vision: Vision, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate(await vision.states()):
        assert time.monotonic() < deadline, f"state still {await vision.states()}"
        await asyncio.sleep(0.01)


def test_start_continuous_asks_the_host_and_its_results_carry_the_run_as_job(ready, tmp_path):
    folder = write_parts(tmp_path / "continuous", "OON")
    requests = []

    def start_continuous(request):  # what `station serve` does: end this run, start that one
        requests.append(request)
        ready.station.stop()
        ready.run_thread.join(TIMEOUT)
        ready.run_thread = threading.Thread(  # the host stores the request's MeasId
            target=ready.station.run,
            args=(folder, "continuous"),
            kwargs={"meas_id": request.meas_id},
            daemon=True,
        )
        ready.run_thread.start()
        return None  # the JobId is then the id of the run that starts

    ready.server.on_start_continuous = start_continuous

    async def check():
        async with connect(ready) as client:
            vision = await Vision.find(client)
            events = await vision.subscribe_results()
            job, error = await vision.start_continuous("M-cont")
            assert error == 0 and job.Id
            received = [(await events.next())[1] for _ in range(3)]
            assert {e.JobId.Id for e in received} == {job.Id}
            assert {e.MeasId.Id for e in received} == {"M-cont"}
            assert [content(e.ResultContent)["Verdict"] for e in received] == ["OK", "OK", "NG"]
            return job.Id

    try:
        job_id = run(check())
    finally:
        ready.server.on_start_continuous = None
    assert requests[0].meas_id == "M-cont"
    ready.run_thread.join(TIMEOUT)  # the folder's three parts, then Ready again
    rows = ready.store.recent(3)
    assert {(r.run_id, r.meas_id) for r in rows} == {(job_id, "M-cont")}  # kept in the store


CLIENT_SCRIPT = """
import asyncio, json, sys
from asyncua import Client, ua
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

async def main(url, cert, key, user, password, result_id):
    client = Client(url, timeout=5)
    client.application_uri = "urn:inspection-station:test-client"
    await client.set_security(SecurityPolicyBasic256Sha256, cert, key)
    client.set_user(user)
    client.set_password(password)
    async with client:
        await client.load_data_type_definitions()
        ns = await client.get_namespace_index("http://opcfoundation.org/UA/MachineVision")
        own = await client.get_namespace_index("urn:inspection-station:opcua")
        system = await client.nodes.objects.get_child(f"{own}:VisionSystem")
        results = await system.get_child(f"{ns}:ResultManagement")
        _, result, error = await results.call_method(
            f"{ns}:GetResultById",
            ua.ResultIdDataType(Id=result_id),
            ua.Variant(0, ua.VariantType.Int32),
        )
        items = {p.Value.Key.Name: p.Value.Value.Value for p in result.ResultContent}
        print(json.dumps({"id": result.ResultId.Id, "recipe": result.InternalRecipeId.Id,
                          "verdict": items["Verdict"], "error": error}))

asyncio.run(main(*sys.argv[1:]))
"""


def test_a_client_in_another_process_decodes_the_results(ready):
    """Only a separate process shows whether a client can build the MachineVision types from
    the server's DataTypeDefinitions (in this process the server's types are already there)."""
    stored = next(r for r in ready.store.recent(50) if r.verdict != "ERROR")
    cert = ensure_certificate(ready.client_pki, CLIENT_URI, "127.0.0.1")
    args = [ready.url, str(cert.cert_path), str(cert.key_path), USER, PASSWORD, str(stored.id)]
    done = subprocess.run(
        [sys.executable, "-c", CLIENT_SCRIPT, *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer == {
        "id": str(stored.id),
        "recipe": stored.recipe_id,
        "verdict": stored.verdict,
        "error": 0,
    }
    assert "Unknown datatype" not in done.stderr


def test_only_basic256sha256_with_username_and_password(line):
    async def check():
        endpoints = await Client(line.url, timeout=TIMEOUT).connect_and_get_server_endpoints()
        assert {(e.SecurityPolicyUri.split("#")[1], e.SecurityMode) for e in endpoints} == {
            ("Basic256Sha256", ua.MessageSecurityMode.SignAndEncrypt)
        }
        tokens = {t.TokenType for e in endpoints for t in e.UserIdentityTokens}
        assert tokens == {ua.UserTokenType.UserName}
        cert = (line.config.cert_dir / CERT_FILE).read_bytes()
        assert endpoints[0].ServerCertificate == cert  # the certificate made on first start
        with pytest.raises(ua.UaStatusCodeError, match="BadUserAccessDenied"):
            async with connect(line, password="wrong"):
                pass
        with pytest.raises(ua.UaStatusCodeError, match="BadIdentityTokenRejected"):
            async with connect(line, user=None):  # anonymous
                pass
        plain = Client(line.url, timeout=TIMEOUT)  # no security: no such endpoint
        plain.set_user(USER)
        plain.set_password(PASSWORD)
        with pytest.raises(ua.UaError):
            await plain.connect()
        await plain.disconnect()
        async with connect(line) as client:
            assert (await Vision.find(client)).system is not None

    run(check())
    again = ensure_certificate(line.config.cert_dir, line.config.application_uri, "127.0.0.1")
    assert not again.created  # reused on the next start, so trusting clients keep trusting


def test_anonymous_sessions_only_when_configured_and_read_only(line, tmp_path):
    config = OpcUaConfig(
        port=free_port(), allow_anonymous=True, allow_unencrypted=True, cert_dir=tmp_path
    )
    server = OpcUaServer(line.station, line.book, config)
    server.start()
    closing = {}

    async def check():
        client = Client(config.endpoint, timeout=TIMEOUT)  # anonymous, no security
        await client.connect()
        vision = await Vision.find(client)
        assert (await vision.states())[0] == "Operational"
        state = line.station.state
        with pytest.raises(ua.UaStatusCodeError, match="BadUserAccessDenied"):
            await vision.call(("VisionStateMachine",), "Halt", *CAUSE)
        assert line.station.state is state
        assert server.status().up and server.status().clients == 1
        started = time.perf_counter()  # closed with the client still connected
        await asyncio.to_thread(server.close)
        closing["s"] = time.perf_counter() - started
        with contextlib.suppress(Exception):  # the server has gone
            await client.disconnect()

    try:
        run(check())
    finally:
        server.close()
    assert closing["s"] < config.close_timeout_s
    assert not server.running and not server.status().up
    with socket.socket() as sock:  # nothing listens there any more (as a server binds: with
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # closed connections waiting)
        sock.bind(("127.0.0.1", config.port))
        sock.listen()


def test_a_port_in_use_is_an_error_naming_the_endpoint(line, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        config = OpcUaConfig(port=port, allow_anonymous=True, cert_dir=tmp_path)
        server = OpcUaServer(line.station, line.book, config)
        with pytest.raises(OpcUaError, match=f"opc.tcp://127.0.0.1:{port}: cannot start"):
            server.start()
        assert not server.running


def test_configuration_errors_name_the_field():
    config = OpcUaConfig.from_url("opc.tcp://0.0.0.0:4841", allow_anonymous=True)
    assert (config.host, config.port) == ("0.0.0.0", 4841)
    assert OpcUaConfig.from_url("opc.tcp://localhost", allow_anonymous=True).port == 4840
    with pytest.raises(OpcUaError, match=re.escape("opcua.endpoint: 'http://127.0.0.1:4840'")):
        OpcUaConfig.from_url("http://127.0.0.1:4840")
    with pytest.raises(OpcUaError, match="no client could log in"):
        OpcUaConfig.from_url("opc.tcp://127.0.0.1:4840")  # checked where it is parsed
    assert OpcUaConfig.from_url(
        "opc.tcp://127.0.0.1:4840", allow_anonymous=True, cert_dir="pki"
    ).cert_dir == Path("pki")
    with pytest.raises(OpcUaError, match="no client could log in"):
        OpcUaConfig().check()
    with pytest.raises(OpcUaError, match="password_hash: not a pbkdf2_sha256 hash"):
        OpcUaConfig(username="u", password_hash="plain-password").check()
    with pytest.raises(OpcUaError, match="go together"):
        OpcUaConfig(username="u").check()


def test_password_hashes_verify_and_never_hold_the_password():
    encoded = hash_password("pw", iterations=1000)
    assert "pw" not in encoded.split("$", 2)[2]
    assert verify_password("pw", encoded) and not verify_password("pW", encoded)
    assert hash_password("pw", iterations=1000) != encoded  # salted
    check_password_hash(encoded)
    with pytest.raises(SecurityError):
        hash_password("")
