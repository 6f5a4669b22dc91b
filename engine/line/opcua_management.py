"""ResultManagement and ConfigurationManagement methods (OPC 40100-1, 7.2 and 7.10).

Results come from the results store (opcua_results.ResultQueries); the result id is the store's
row id as text. The station has one configuration: itself (its name; activating it again is
allowed and does nothing), which is what the Basic Configuration Management unit asks of a
system without configuration files to manage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from asyncua import ua

from engine.line.opcua_methods import (
    NO_ERROR,
    Outputs,
    Refused,
    boolean,
    ext,
    ext_list,
    paged,
    text_id,
    uint32,
)
from engine.line.opcua_results import (
    COMPLETED,
    FAILED,
    ResultFilter,
    ResultQueries,
    result_data,
    result_fields,
)
from engine.store import ERROR, Record

S = ua.StatusCodes
VERDICTS_BY_STATE = {COMPLETED: ("OK", "NG"), FAILED: (ERROR,)}


class ResultMethods:
    """GetResultById, GetResultComponentsById, GetResultListFiltered."""

    def __init__(
        self,
        queries: ResultQueries,
        key_ns: int,
        configuration_id: str,
        max_results: int,
    ) -> None:
        self.queries = queries
        self.key_ns = key_ns
        self.configuration_id = configuration_id
        self.max_results = max_results

    def handlers(self) -> dict[str, Callable[..., Awaitable[Outputs]]]:
        return {
            "GetResultById": self.by_id,
            "GetResultComponentsById": self.components_by_id,
            "GetResultListFiltered": self.list_filtered,
        }

    def _record(self, result_id: Any) -> Record:
        text = text_id(result_id)
        if not text.isdigit():
            raise Refused(S.BadInvalidArgument, f"result id {text!r} is not a stored result's id")
        record = self.queries.get(int(text))
        if record is None:
            raise Refused(S.BadNotFound, f"no result with id {text} in {self.queries.store.path}")
        return record

    def data(self, record: Record) -> ua.ResultDataType:
        return result_data(record, self.key_ns, self.configuration_id)

    async def by_id(self, result_id: Any, timeout: int) -> Outputs:
        record = self._record(result_id)
        return [uint32(0), ext(self.data(record)), NO_ERROR]

    async def components_by_id(self, result_id: Any, timeout: int) -> Outputs:
        record = self._record(result_id)
        fields = result_fields(record, self.key_ns, self.configuration_id)

        def out(name: str) -> ua.Variant:
            value, kind = fields[name]
            return ua.Variant(value, kind) if value is not None else ua.Variant()

        return [
            boolean(False),  # HasTransferableDataOnFile: no result file transfer
            uint32(0),  # ResultHandle
            out("IsPartial"),
            boolean(False),  # IsSimulated: the station has no simulation mode
            out("ResultState"),
            out("MeasId"),
            out("PartId"),
            out("ExternalRecipeId"),
            out("InternalRecipeId"),
            ua.Variant(),  # ProductId: no products
            ua.Variant(),  # ExternalConfigurationId: none given by the environment
            out("InternalConfigurationId"),
            out("JobId"),
            out("CreationTime"),
            out("ProcessingTimes"),
            ua.Variant(fields["ResultContent"][0], ua.VariantType.Variant, is_array=True),
            NO_ERROR,
        ]

    async def list_filtered(
        self,
        state: int,
        meas: Any,
        part: Any,
        external_recipe: Any,
        internal_recipe: Any,
        external_configuration: Any,
        internal_configuration: Any,
        product: Any,
        job: Any,
        max_results: int,
        start_index: int,
        timeout: int,
    ) -> Outputs:
        """Oldest first; at most max_results (the server's cap when 0) from start_index."""
        where = self._filter(
            int(state or 0),
            text_id(meas),
            text_id(part),
            {text_id(external_recipe), text_id(internal_recipe)} - {""},
            {text_id(external_configuration), text_id(internal_configuration)} - {""},
            text_id(product),
            text_id(job),
        )
        limit = min(int(max_results or 0) or self.max_results, self.max_results)
        records, more = self.queries.find(where, int(start_index or 0), limit)
        return [
            boolean(not more),
            uint32(len(records)),
            uint32(0),  # ResultHandle: no ReleaseResultHandle, nothing held for the client
            ext_list([self.data(r) for r in records]),
            NO_ERROR,
        ]

    def _filter(
        self,
        state: int,
        meas: str,
        part: str,
        recipes: set[str],
        configurations: set[str],
        product: str,
        job: str,
    ) -> ResultFilter:
        nothing = bool(product) or len(recipes) > 1
        nothing |= bool(configurations - {self.configuration_id})
        verdicts = None
        if state:
            verdicts = VERDICTS_BY_STATE.get(state)
            nothing |= verdicts is None  # Processing / Aborted / application states: none
        return ResultFilter(
            verdicts=verdicts,
            part_id=part or None,
            recipe_id=next(iter(recipes), None),
            meas_id=meas or None,
            job_id=job or None,
            nothing=nothing,
        )


class ConfigurationMethods:
    """GetConfigurationList, GetConfigurationById, ActivateConfiguration: one configuration."""

    def __init__(self, configuration_id: str, version: str, since: dt.datetime) -> None:
        self.configuration = ua.ConfigurationDataType(
            HasTransferableDataOnFile=False,
            InternalId=ua.ConfigurationIdDataType(
                Id=configuration_id,
                Version=version,
                Description=ua.LocalizedText("the station and its recipe file"),
            ),
            LastModified=since,
        )

    def handlers(self) -> dict[str, Callable[..., Awaitable[Outputs]]]:
        return {
            "GetConfigurationList": self.list,
            "GetConfigurationById": self.by_id,
            "ActivateConfiguration": self.activate,
        }

    def _check(self, configuration_id: Any) -> None:
        wanted = text_id(configuration_id)
        if wanted != self.configuration.InternalId.Id:
            known = self.configuration.InternalId.Id
            raise Refused(S.BadNotFound, f"no configuration {wanted!r} (there is {known!r})")

    async def list(self, max_results: int, start_index: int, timeout: int) -> Outputs:
        page, complete = paged([self.configuration], start_index, max_results)
        return [boolean(complete), uint32(len(page)), uint32(0), ext_list(page), NO_ERROR]

    async def by_id(self, configuration_id: Any, timeout: int) -> Outputs:
        self._check(configuration_id)
        return [uint32(0), ext(self.configuration), NO_ERROR]

    async def activate(self, configuration_id: Any) -> Outputs:
        self._check(configuration_id)
        return [NO_ERROR]
