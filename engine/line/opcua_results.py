"""Results for OPC UA: store rows as OPC 40100 `ResultDataType`, their content, and the queries
behind GetResultById / GetResultListFiltered.

The results store (engine.store) is the truth: an event and a later GetResultById of the same
result carry the same content, read from the same row: regions with their boxes, and the
client's MeasId of the job (StartSingleJob's, or StartContinuous's for a continuous run), so a
result asked for after a restart is whole.

Queries go through the store (`ResultStore.get` / `select`); a page is at most `max_results`
rows, so the store's lock, which the inspection cycle writes under, is held for milliseconds.

Result content (`ResultContent`, one KeyValuePair per item, keys in the station's namespace):
Verdict, Score, Threshold, RegionCount, Regions (JSON), RecipeId, BundleName, BundleDigest,
ImagePath, OverlayPath, FrameId, Source, LatencyMs, Error. docs/opcua.md has the table.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from asyncua import ua

from engine.events import PartResult
from engine.store import ERROR, Record, ResultStore, region_rows

COMPLETED, FAILED = 1, 4  # ResultStateDataType: Completed / Failed (OPC 40100-1, 12.19)


# --- queries ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultFilter:
    """GetResultListFiltered's filters, as the store can apply them. `nothing`: no row can pass
    (a ProductId, another configuration)."""

    verdicts: tuple[str, ...] | None = None
    part_id: str | None = None
    recipe_id: str | None = None
    meas_id: str | None = None
    job_id: str | None = None
    nothing: bool = False


class ResultQueries:
    """The result queries of the ResultManagement methods, answered by the results store."""

    def __init__(self, store: ResultStore) -> None:
        self.store = store

    def get(self, result_id: int) -> Record | None:
        return self.store.get(result_id)

    def find(self, where: ResultFilter, start: int, limit: int) -> tuple[list[Record], bool]:
        """Rows passing `where`, oldest first, from `start`; and whether more follow."""
        if where.nothing:
            return [], False
        clauses, params = _where(where)
        rows = self.store.select(clauses, params, limit=limit + 1, offset=start)
        return rows[:limit], len(rows) > limit


def _where(where: ResultFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if where.verdicts is not None:
        clauses.append(f"verdict IN ({', '.join('?' * len(where.verdicts))})")
        params.extend(where.verdicts)
    columns = (
        ("part_id", where.part_id),
        ("recipe_id", where.recipe_id),
        ("meas_id", where.meas_id),
    )
    for column, value in columns:
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if where.job_id is not None:  # a part without a job id belongs to its run's job
        clauses.append("(job_id = ? OR (job_id IS NULL AND run_id = ?))")
        params.extend([where.job_id, where.job_id])
    return clauses, params


def record_from_part(part: PartResult) -> Record:
    """A Record for a part the store could not keep (result id 0), so its event still says
    what happened."""
    result = part.result
    trigger = part.trigger
    return Record(
        id=part.result_id,
        run_id=part.run_id,
        source=part.frame.origin,
        frame_id=part.frame.id,
        origin=part.frame.origin,
        frame_time=part.frame.timestamp,
        time=dt.datetime.now(dt.UTC).timestamp(),
        verdict=part.verdict,
        score=result.anomaly_score if result else None,
        threshold=result.image_threshold if result else None,
        region_count=len(result.regions) if result else None,
        region_areas=[r.area_px for r in result.regions] if result else None,
        regions=region_rows(result) if result else None,
        timings_ms=result.timings_ms if result else None,
        bundle_name=None,
        bundle_digest=None,
        image_path=None,
        overlay_path=None,
        error=part.error,
        part_id=trigger.part_id if trigger else None,
        job_id=trigger.job_id if trigger else None,
        meas_id=trigger.meas_id if trigger else None,
        recipe_id=part.recipe_id,
        trigger_time=trigger.time if trigger else None,
        latency_ms=part.latency_ms,
    )


# --- conversion -------------------------------------------------------------------------------


def job_id(record: Record) -> str:
    """The OPC UA JobId of a result: the trigger's job id (StartSingleJob's), else its run's id
    (a continuous run, or triggers from elsewhere, are one job per run)."""
    return record.job_id or record.run_id


def result_state(record: Record) -> int:
    return FAILED if record.verdict == ERROR else COMPLETED


def utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


class Built(list):
    """A list made fresh for one event and never changed afterwards. asyncua deep-copies every
    event field for every monitored item; for ResultContent's 14 nested pairs that copy is
    most of the adapter's time per part (about 1 ms), so it is skipped for this list."""

    def __deepcopy__(self, memo: dict) -> Built:
        return self


def content(record: Record, key_ns: int) -> list[ua.Variant]:
    """ResultContent: one KeyValuePair per item (see the module docstring)."""
    regions = record.regions
    if regions is None:  # a row stored before the store kept regions
        regions = [{"area_px": area} for area in record.region_areas or []]
    items: list[tuple[str, Any, ua.VariantType]] = [
        ("Verdict", record.verdict, ua.VariantType.String),
        ("Score", record.score, ua.VariantType.Double),
        ("Threshold", record.threshold, ua.VariantType.Double),
        ("RegionCount", record.region_count, ua.VariantType.Int32),
        ("Regions", json.dumps(regions), ua.VariantType.String),
        ("RecipeId", record.recipe_id, ua.VariantType.String),
        ("BundleName", record.bundle_name, ua.VariantType.String),
        ("BundleDigest", record.bundle_digest, ua.VariantType.String),
        ("ImagePath", record.image_path, ua.VariantType.String),
        ("OverlayPath", record.overlay_path, ua.VariantType.String),
        ("FrameId", record.frame_id, ua.VariantType.String),
        ("Source", record.source, ua.VariantType.String),
        ("LatencyMs", record.latency_ms, ua.VariantType.Double),
        ("Error", record.error, ua.VariantType.String),
    ]
    return Built(
        ua.Variant(
            ua.KeyValuePair(
                Key=ua.QualifiedName(key, key_ns),
                Value=ua.Variant(value, kind) if value is not None else ua.Variant(),
            )
        )
        for key, value, kind in items
    )


def processing_times(record: Record) -> ua.ProcessingTimesDataType:
    """Start: the trigger (or the frame); end: the row stored; processing: the core's latency."""
    end = record.time
    start = record.trigger_time or record.frame_time or end
    return ua.ProcessingTimesDataType(
        StartTime=utc(start),
        EndTime=utc(end),
        ProcessingDuration=record.latency_ms,
    )


def result_fields(
    record: Record, key_ns: int, configuration_id: str
) -> dict[str, tuple[Any, ua.VariantType]]:
    """The members shared by ResultDataType and ResultReadyEventType, by BrowseName."""
    ext = ua.VariantType.ExtensionObject
    recipe = record.recipe_id or ""
    return {
        "ResultId": (ua.ResultIdDataType(Id=str(record.id)), ext),
        "IsPartial": (False, ua.VariantType.Boolean),
        "ResultState": (result_state(record), ua.VariantType.Int32),
        "MeasId": (ua.MeasIdDataType(Id=record.meas_id) if record.meas_id else None, ext),
        "PartId": (ua.PartIdDataType(Id=record.part_id) if record.part_id else None, ext),
        "ExternalRecipeId": (ua.RecipeIdExternalDataType(Id=recipe), ext),
        "InternalRecipeId": (ua.RecipeIdInternalDataType(Id=recipe), ext),
        "InternalConfigurationId": (ua.ConfigurationIdDataType(Id=configuration_id), ext),
        "JobId": (ua.JobIdDataType(Id=job_id(record)), ext),
        "CreationTime": (utc(record.time), ua.VariantType.DateTime),
        "ProcessingTimes": (processing_times(record), ext),
        "ResultContent": (content(record, key_ns), ua.VariantType.Variant),
    }


def result_data(record: Record, key_ns: int, configuration_id: str) -> ua.ResultDataType:
    values = {
        name: value for name, (value, _) in result_fields(record, key_ns, configuration_id).items()
    }
    return ua.ResultDataType(**values)
