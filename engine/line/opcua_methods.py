"""The OPC 40100-1 methods, each calling the station core.

Every method returns its output arguments with `Error` = 0 when it did what was asked, and
otherwise a bad StatusCode for the whole call (the reason is logged; OPC UA has no message
field for it):

- Bad_InvalidState: the station's state does not allow it (the core's TransitionError, or a
  trigger the station did not take: stored and counted as a missed trigger).
- Bad_InvalidArgument: an argument the station cannot use (a ProductId, a recipe that is not
  the prepared one, a result id that is not a number).
- Bad_NotFound: no recipe / result / configuration with that id.
- Bad_NotSupported: a part of the model the station does not have (StartContinuous without a
  host that starts runs).
- Bad_ConfigurationError: the recipe's model bundle could not be loaded (the old recipe stays).
- Bad_ArgumentsMissing / Bad_TooManyArguments: the call does not match InputArguments.
- Bad_UserAccessDenied: an anonymous session (opcua_security.StationPermissions).

Handlers run on the server's asyncio loop. The trigger is sent from it directly (it only takes
the station's lock); anything that may block (a recipe's bundle load, halting a camera run, the
host starting a continuous run) goes to a worker thread.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from asyncua import Node, Server, ua

from engine.recipes import Recipe, RecipeBook, RecipeError
from engine.station import Station
from engine.vision_states import TransitionError, VisionState

log = logging.getLogger(__name__)

REQUESTED_BY = "opcua"
RUN_START_WAIT_S = 5.0  # StartContinuous: how long to wait for the host's run to announce itself
BLOCKED = (VisionState.HALTED, VisionState.ERROR, VisionState.PREOPERATIONAL)
S = ua.StatusCodes


class Refused(Exception):
    """A call the station will not do: `code` goes back to the client, the message to the log."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class JobRequest:
    """StartContinuous's arguments, for the host's `on_start_continuous` hook."""

    meas_id: str | None
    part_id: str | None
    recipe_id: str | None


StartContinuous = Callable[[JobRequest], None]  # starts the run, or raises TransitionError
Outputs = list[ua.Variant]
CallLog = Callable[[str, str], None]  # (method, outcome: "Good" or the StatusCode's name)


def int32(value: int) -> ua.Variant:
    return ua.Variant(value, ua.VariantType.Int32)


def uint32(value: int) -> ua.Variant:
    return ua.Variant(value, ua.VariantType.UInt32)


def boolean(value: bool) -> ua.Variant:
    return ua.Variant(value, ua.VariantType.Boolean)


def ext(value: Any) -> ua.Variant:
    return ua.Variant(value, ua.VariantType.ExtensionObject)


def ext_list(values: list[Any]) -> ua.Variant:
    return ua.Variant(values, ua.VariantType.ExtensionObject, is_array=True)


NO_ERROR = int32(0)


def text_id(value: Any) -> str:
    """The Id of an Id structure (MeasIdDataType, RecipeIdExternalDataType, ...), "" if none."""
    return (getattr(value, "Id", None) or "").strip()


def status_name(code: int) -> str:
    return ua.StatusCode(code).name


async def link(
    server: Server,
    node: Node,
    name: str,
    handler: Callable[..., Awaitable[Outputs]],
    on_call: CallLog,
) -> None:
    """Bind `handler` to the method `node`: argument count checked against the method's
    InputArguments, exceptions turned into StatusCodes, every call reported to `on_call`."""
    try:
        expected = len(await (await node.get_child("0:InputArguments")).read_value())
    except ua.UaStatusCodeError:  # a method without input arguments
        expected = 0

    @functools.wraps(handler)
    async def call(parent: ua.NodeId, *args: ua.Variant) -> Outputs | ua.StatusCode:
        if len(args) != expected:
            code = S.BadArgumentsMissing if len(args) < expected else S.BadTooManyArguments
            got = f"{len(args)} arguments, InputArguments has {expected}"
            return _refuse(name, code, got, on_call)
        try:
            outputs = await handler(*(arg.Value for arg in args))
        except Refused as exc:
            return _refuse(name, exc.code, str(exc), on_call)
        except TransitionError as exc:
            return _refuse(name, S.BadInvalidState, str(exc), on_call)
        except Exception:  # a bug here must not take the server down
            log.exception("OPC UA %s failed", name)
            on_call(name, status_name(S.BadInternalError))
            return ua.StatusCode(S.BadInternalError)
        on_call(name, "Good")
        return outputs

    server.link_method(node, call)


def _refuse(name: str, code: int, message: str, on_call: CallLog | None = None) -> ua.StatusCode:
    log.warning("OPC UA %s refused (%s): %s", name, status_name(code), message)
    if on_call is not None:
        on_call(name, status_name(code))
    return ua.StatusCode(code)


# --- VisionStateMachine and its AutomaticModeStateMachine ---------------------------------


class ControlMethods:
    """Halt, Reset, SelectModeAutomatic, StartSingleJob, StartContinuous, Stop, Abort."""

    def __init__(
        self,
        station: Station,
        start_continuous: Callable[[], StartContinuous | None],
    ) -> None:
        self.station = station
        self._start_continuous = start_continuous  # the host's hook, looked up at each call
        self._starting: asyncio.Future | None = None  # a StartContinuous waiting for its run

    def handlers(self) -> dict[str, Callable[..., Awaitable[Outputs]]]:
        return {
            "Halt": self.halt,
            "Reset": self.reset,
            "SelectModeAutomatic": self.select_mode_automatic,
            "StartSingleJob": self.start_single_job,
            "StartContinuous": self.start_continuous,
            "Stop": self.stop,
            "Abort": self.abort,
        }

    def run_started(self, run_id: str) -> None:
        """A RunStarted event (on the loop, before any part of that run is forwarded): the run
        a StartContinuous waits for (the host stores its MeasId with the run's parts)."""
        starting = self._starting
        if starting is not None and not starting.done():
            starting.set_result(run_id)

    async def halt(self, cause: int, description: str | None) -> Outputs:
        log.info("OPC UA Halt (cause %s: %s)", cause, description or "-")
        await asyncio.to_thread(self.station.halt)
        return [NO_ERROR]

    async def reset(self, cause: int, description: str | None) -> Outputs:
        log.info("OPC UA Reset (cause %s: %s)", cause, description or "-")
        await asyncio.to_thread(self.station.reset)
        return [NO_ERROR]

    async def select_mode_automatic(self) -> Outputs:
        """Automatic is the station's only mode, entered by itself after start and Reset: the
        call succeeds while Operational and is refused from Halted or Error (Reset first)."""
        state = self.station.state
        if not state.operational:
            raise Refused(S.BadInvalidState, f"not possible in state {state.path}; Reset first")
        return [NO_ERROR]

    async def start_single_job(
        self, meas: Any, part: Any, recipe: Any, product: Any, parameters: Any
    ) -> Outputs:
        """One trigger: the station takes the next part with this part id and a new job id."""
        self._check_job_arguments(recipe, product)
        job_id = uuid.uuid4().hex
        meas_id = text_id(meas) or None
        if not self.station.trigger(text_id(part) or None, job_id, REQUESTED_BY, meas_id):
            raise Refused(
                S.BadInvalidState,
                f"trigger not taken in state {self.station.state.path} (stored as a missed "
                "trigger): the station takes one only in a software-trigger run, when Ready",
            )
        return [ext(ua.JobIdDataType(Id=job_id)), NO_ERROR]

    async def start_continuous(
        self, meas: Any, part: Any, recipe: Any, product: Any, parameters: Any
    ) -> Outputs:
        """A continuous run is started by the host that owns runs (`station serve`), through
        its `on_start_continuous` hook. The JobId is the id of the run that then starts (every
        result of the run carries it); a run that does not start in RUN_START_WAIT_S is an
        error."""
        self._check_job_arguments(recipe, product)
        state = self.station.state
        if state is not VisionState.READY:
            raise Refused(S.BadInvalidState, f"StartContinuous is not possible in {state.path}")
        hook = self._start_continuous()
        if hook is None:
            raise Refused(
                S.BadNotSupported,
                "StartContinuous: this station's host starts no runs on request (no "
                "on_start_continuous hook); start a continuous run in the station instead",
            )
        if self._starting is not None and not self._starting.done():
            raise Refused(S.BadInvalidState, "StartContinuous: another one is starting a run")
        request = JobRequest(text_id(meas) or None, text_id(part) or None, text_id(recipe) or None)
        self._starting = asyncio.get_running_loop().create_future()
        try:
            await asyncio.to_thread(hook, request)
            run_id = await asyncio.wait_for(asyncio.shield(self._starting), RUN_START_WAIT_S)
        except TimeoutError:
            raise Refused(
                S.BadInvalidState, f"the host started no run within {RUN_START_WAIT_S:g} s"
            ) from None
        finally:
            self._starting = None
        return [ext(ua.JobIdDataType(Id=run_id)), NO_ERROR]

    async def stop(self, cause: int, description: str | None) -> Outputs:
        return await self._end_job("Stop", self.station.stop, cause, description)

    async def abort(self, cause: int, description: str | None) -> Outputs:
        return await self._end_job("Abort", self.station.abort, cause, description)

    async def _end_job(
        self, method: str, end: Callable[[], None], cause: int, description: str | None
    ) -> Outputs:
        allowed = self.station.allowed_methods()
        if method not in allowed:
            raise Refused(
                S.BadInvalidState,
                f"{method} is not possible in state {self.station.state.path}; "
                f"methods allowed now: {', '.join(allowed) or 'none'}",
            )
        log.info("OPC UA %s (cause %s: %s)", method, cause, description or "-")
        await asyncio.to_thread(end)
        return [NO_ERROR]

    def _check_job_arguments(self, recipe: Any, product: Any) -> None:
        if text_id(product):
            raise Refused(S.BadInvalidArgument, "products are not supported: leave ProductId empty")
        wanted = text_id(recipe)
        active = self.station.recipe
        if wanted and (active is None or wanted != active.id):
            prepared = active.id if active else "none"
            raise Refused(
                S.BadInvalidArgument,
                f"recipe {wanted!r} is not prepared (prepared: {prepared}); PrepareRecipe first",
            )


# --- RecipeManagement -----------------------------------------------------------------------


class RecipeMethods:
    """PrepareRecipe, UnprepareRecipe, GetRecipeListFiltered over the station's RecipeBook.
    External and internal recipe ids are both the recipe's id in the recipe file."""

    def __init__(self, station: Station, book: RecipeBook, prepare_wait_s: float) -> None:
        self.station = station
        self.book = book
        self.prepare_wait_s = prepare_wait_s
        self._loading: set[asyncio.Task] = set()

    def handlers(self) -> dict[str, Callable[..., Awaitable[Outputs]]]:
        return {
            "PrepareRecipe": self.prepare,
            "UnprepareRecipe": self.unprepare,
            "GetRecipeListFiltered": self.list_filtered,
        }

    def internal_id(self, recipe: Recipe) -> ua.RecipeIdInternalDataType:
        """The recipe's id; for the prepared recipe also its model bundle's SHA-256."""
        active = self.station.active
        digest = None
        if active is not None and active.recipe.id == recipe.id:
            digest = bytes.fromhex(active.inspector.bundle.digest)
        return ua.RecipeIdInternalDataType(
            Id=recipe.id,
            Hash=digest,
            HashAlgorithm="SHA-256" if digest else None,
            Description=ua.LocalizedText(recipe.label),
        )

    def _recipe(self, external: Any, internal: Any) -> Recipe:
        recipe_id = text_id(external) or text_id(internal)
        if not recipe_id:
            raise Refused(S.BadInvalidArgument, "no recipe id (ExternalId or InternalIdIn)")
        try:
            return self.book.get(recipe_id)
        except RecipeError as exc:
            raise Refused(S.BadNotFound, str(exc)) from None

    async def prepare(self, external: Any, internal: Any) -> Outputs:
        """Load the recipe's bundle in a worker, then switch (engine.station.Station.prepare).
        Waits up to prepare_wait_s; a longer load goes on and IsCompleted is False (the state
        moves to Ready and the recipe shows as prepared when it is done)."""
        recipe = self._recipe(external, internal)
        state = self.station.state
        if state in BLOCKED:
            raise Refused(S.BadInvalidState, f"PrepareRecipe is not possible in {state.path}")
        task = asyncio.ensure_future(asyncio.to_thread(self.station.prepare, recipe, REQUESTED_BY))
        self._loading.add(task)
        task.add_done_callback(self._loaded)
        done, _ = await asyncio.wait({task}, timeout=self.prepare_wait_s)
        if task in done and task.exception() is not None:
            code = S.BadInvalidState if self.station.state in BLOCKED else S.BadConfigurationError
            raise Refused(code, str(task.exception()))
        return [ext(self.internal_id(recipe)), boolean(task in done), NO_ERROR]

    def _loaded(self, task: asyncio.Task) -> None:
        self._loading.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("OPC UA PrepareRecipe: %s", task.exception())

    async def unprepare(self, external: Any, internal: Any) -> Outputs:
        """Station.unprepare: the station goes to Initialized, refused while a run is on."""
        recipe = self._recipe(external, internal)
        active = self.station.recipe
        if active is None or active.id != recipe.id:
            raise Refused(S.BadInvalidState, f"recipe {recipe.id!r} is not prepared")
        try:
            await asyncio.to_thread(self.station.unprepare, REQUESTED_BY)
        except (TransitionError, RecipeError) as exc:
            raise Refused(S.BadInvalidState, f"UnprepareRecipe: {exc}") from None
        return [NO_ERROR]

    async def list_filtered(
        self,
        external: Any,
        product: Any,
        is_prepared: int,
        max_results: int,
        start_index: int,
        timeout: int,
    ) -> Outputs:
        active = self.station.recipe
        wanted = text_id(external)
        recipes = []
        if not text_id(product):  # no products here: a ProductId matches no recipe
            for recipe in sorted(self.book.recipes.values(), key=lambda r: r.id):
                prepared = active is not None and active.id == recipe.id
                if wanted and recipe.id != wanted:
                    continue
                if int(is_prepared or 0) in (0, 1) and prepared != bool(is_prepared):
                    continue
                recipes.append(recipe)
        page, complete = paged(recipes, start_index, max_results)
        return [
            boolean(complete),
            uint32(len(page)),
            uint32(0),  # handle: no ReleaseRecipeHandle, nothing held for the client
            ext_list([self.internal_id(r) for r in page]),
            NO_ERROR,
        ]


def paged(items: list, start: int, limit: int, cap: int = 10_000) -> tuple[list, bool]:
    """items[start:start+limit] (limit 0: no limit, up to `cap`) and whether that is the end."""
    start, limit = int(start or 0), int(limit or 0) or cap
    page = items[start : start + min(limit, cap)]
    return page, start + len(page) >= len(items)
