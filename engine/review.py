"""The review queue: parts a person should look at, and what that person decided.

A part is queued after it is recorded when the two models disagree, when a score lies within
the policy's margin of its threshold, for a seeded random share of OK parts (an audit sample),
or when an operator flags it (engine.review_rules decides; the recorder queues). A queued part
always has its original image archived, with the U-Net mask and the heat map as judged, so the
reviewer sees what the station saw even when the recipe archives nothing.

Every decision is a new row (history kept); the latest one counts. A decision "defective" comes
with a defect type and the reviewer's mask at the image's full resolution, written as a 0/255
PNG under `<store folder>/review/masks/`. The tables live in the results store's file (through
`ResultStore.create_tables` / `connection`), beside the inspection rows they refer to.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass, fields
from pathlib import Path

import cv2
import numpy as np

from engine.bundle import Bundle
from engine.imageio import write_image
from engine.result import InspectionResult, Thresholds, Verdict
from engine.store import Record, ResultStore

log = logging.getLogger(__name__)

REASONS = ("disagreement", "near_threshold", "operator_flag", "audit_sample")
DECISIONS = ("good", "defective")
REVIEW_DIR = "review"  # under the archive folder: queued originals, U-Net masks, heat maps
MASKS_DIR = "masks"  # under <store folder>/review: the reviewers' painted masks
# A defect type becomes a folder name in the exported dataset: keep it plain.
DEFECT_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS review_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    inspection_id INTEGER NOT NULL UNIQUE,
    reasons TEXT NOT NULL,
    queued_time REAL NOT NULL,
    image_path TEXT NOT NULL,
    unet_mask_path TEXT,
    heat_path TEXT,
    map_threshold REAL,
    verdict TEXT NOT NULL,
    unet_verdict TEXT,
    anomaly_verdict TEXT,
    score REAL,
    threshold REAL,
    defect_types TEXT NOT NULL,
    image_height INTEGER NOT NULL,
    image_width INTEGER NOT NULL,
    flagged_by TEXT
);
CREATE TABLE IF NOT EXISTS review_decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id INTEGER NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('good', 'defective')),
    defect_type TEXT,
    mask_path TEXT,
    reviewer TEXT NOT NULL,
    time REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS review_decisions_item ON review_decisions (item_id);
"""


class ReviewError(Exception):
    """A review action that cannot be done; the message names the item and the field."""


@dataclass(frozen=True)
class ReviewPolicy:
    """When a part is queued; from the recipe's `[recipes.<id>.review]` table."""

    near_margin: float = 0.1  # a score within ±10 % of its threshold (relative) is queued
    audit_share: float = 0.0  # share of OK parts queued at random as an audit sample
    seed: int | None = None  # seeds the audit draw (None: a different draw each run)
    enabled: bool = True  # False: nothing is queued automatically (flags still are)


@dataclass
class ReviewDecision:
    """One decision on a queued part; a later one for the same item replaces it (history)."""

    id: int
    item_id: int
    decision: str
    defect_type: str | None
    mask_path: str | None
    reviewer: str
    time: float


@dataclass
class ReviewItem:
    id: int
    inspection_id: int  # the row in the results store's inspections table
    reasons: list[str]  # one or more of REASONS
    queued_time: float
    image_path: str  # the archived original image (always archived for a queued part)
    unet_mask_path: str | None  # PNG, 0/255, image resolution: the U-Net mask as judged
    heat_path: str | None  # PNG, 8-bit, image resolution: the bundle-normalised heat [0,1]*255
    map_threshold: float | None  # heat threshold in [0,1] (Thresholds.map_threshold)
    verdict: str  # the recorded verdict and scores (copied for the screen)
    unet_verdict: str | None  # "OK"/"NG" of the U-Net alone, None when the bundle has none
    anomaly_verdict: str | None
    score: float | None
    threshold: float | None
    defect_types: list[str]  # the bundle's defect_types, for the reviewer's choice
    decision: str | None  # latest decision, None while pending
    defect_type: str | None
    mask_path: str | None  # the reviewer's painted mask PNG, 0/255, full image resolution
    reviewer: str | None
    decided_time: float | None
    image_height: int = 0  # the original's size: a painted mask must have it
    image_width: int = 0
    flagged_by: str | None = None  # the operator who flagged it, when one did
    decision_id: int | None = None  # the latest decision's row id (exports key on it)


# The review_items columns, named as ReviewItem's fields; then its latest decision's columns
# (SQL name, field name).
_ITEM_COLUMNS = (
    "id", "inspection_id", "reasons", "queued_time", "image_path", "unet_mask_path", "heat_path",
    "map_threshold", "verdict", "unet_verdict", "anomaly_verdict", "score", "threshold",
    "defect_types", "image_height", "image_width", "flagged_by",
)  # fmt: skip
_LATEST_DECISION = (
    ("decision", "decision"), ("defect_type", "defect_type"), ("mask_path", "mask_path"),
    ("reviewer", "reviewer"), ("time", "decided_time"), ("id", "decision_id"),
)  # fmt: skip
_ITEM_FIELDS = (*_ITEM_COLUMNS, *(name for _, name in _LATEST_DECISION))  # a row of _ITEMS_SQL
# Each item with its latest decision (the highest decision id), or NULLs while pending.
_ITEMS_SQL = f"""
SELECT {", ".join(f"i.{c}" for c in _ITEM_COLUMNS)},
       {", ".join(f"d.{c}" for c, _ in _LATEST_DECISION)}
FROM review_items i
LEFT JOIN review_decisions d
  ON d.id = (SELECT MAX(id) FROM review_decisions WHERE item_id = i.id)
"""
_DECISION_COLUMNS = ", ".join(f.name for f in fields(ReviewDecision))


class ReviewQueue:
    """The review tables of one results store; safe from any thread (the store's lock)."""

    def __init__(self, store: ResultStore) -> None:
        self.store = store
        store.create_tables(_SCHEMA)

    @property
    def masks_dir(self) -> Path:
        return self.store.path.parent / REVIEW_DIR / MASKS_DIR

    # --- reading ------------------------------------------------------------------------------
    def items(
        self, *, pending: bool | None = None, limit: int | None = None, offset: int = 0
    ) -> list[ReviewItem]:
        """Items in queue order (oldest first); `pending` True: undecided only, False: decided."""
        sql = _ITEMS_SQL + _pending_filter(pending) + " ORDER BY i.id LIMIT ? OFFSET ?"
        with self.store.connection() as db:
            rows = db.execute(sql, (-1 if limit is None else limit, offset)).fetchall()
        return [_item(row) for row in rows]

    def count(self, *, pending: bool | None = None) -> int:
        sql = "SELECT COUNT(*) FROM (" + _ITEMS_SQL + _pending_filter(pending) + ")"
        with self.store.connection() as db:
            return int(db.execute(sql).fetchone()[0])

    def get(self, item_id: int) -> ReviewItem | None:
        with self.store.connection() as db:
            row = db.execute(_ITEMS_SQL + " WHERE i.id = ?", (item_id,)).fetchone()
        return None if row is None else _item(row)

    def for_inspection(self, inspection_id: int) -> ReviewItem | None:
        """The item queued for an inspection row, or None."""
        with self.store.connection() as db:
            row = db.execute(_ITEMS_SQL + " WHERE i.inspection_id = ?", (inspection_id,))
            row = row.fetchone()
        return None if row is None else _item(row)

    def decisions(self, item_id: int) -> list[ReviewDecision]:
        """Every decision on an item, oldest first."""
        with self.store.connection() as db:
            rows = db.execute(
                f"SELECT {_DECISION_COLUMNS} FROM review_decisions WHERE item_id = ? ORDER BY id",
                (item_id,),
            ).fetchall()
        return [ReviewDecision(*row) for row in rows]

    # --- queueing -----------------------------------------------------------------------------
    def add(
        self,
        inspection_id: int,
        reasons: list[str],
        *,
        image_path: str | Path,
        result: InspectionResult,
        folder: str | Path,
        bundle: Bundle | None = None,
        flagged_by: str | None = None,
    ) -> ReviewItem:
        """Queue a recorded inspection whose original is archived at `image_path`, writing the
        U-Net mask and heat PNGs under `folder/review/`; `bundle` (the one that judged it) gives
        the defect types and the heat threshold. An inspection already queued gets the new
        reasons added. A plane that cannot be written is left out (logged): the part is still
        queued, the reviewer sees the original."""
        unknown = [r for r in reasons if r not in REASONS]
        if unknown or not reasons:
            raise ReviewError(f"reasons: {unknown or reasons!r} not among {', '.join(REASONS)}")
        existing = self.for_inspection(inspection_id)
        if existing is not None:
            return self._add_reasons(existing, reasons, flagged_by)
        stem = f"{inspection_id:08d}"
        unet_path = _write_plane(Path(folder), "unet", stem, unet_mask_png(result))
        heat_path = _write_plane(Path(folder), "heat", stem, heat_png(result))
        unet, anomaly = model_verdicts(result)
        height, width = result.image_shape
        values = {
            "inspection_id": inspection_id,
            "reasons": json.dumps(list(dict.fromkeys(reasons))),
            "queued_time": time.time(),
            "image_path": str(image_path),
            "unet_mask_path": unet_path,
            "heat_path": heat_path,
            "map_threshold": heat_threshold(result, bundle),
            "verdict": result.verdict.value,
            "unet_verdict": unet,
            "anomaly_verdict": anomaly,
            "score": result.anomaly_score,
            "threshold": result.image_threshold,
            "defect_types": json.dumps(bundle.defect_types if bundle else []),
            "image_height": height,
            "image_width": width,
            "flagged_by": flagged_by,
        }
        marks = ", ".join("?" * len(values))
        with self.store.connection() as db:
            cursor = db.execute(
                f"INSERT INTO review_items ({', '.join(values)}) VALUES ({marks})",
                list(values.values()),
            )
            item_id = int(cursor.lastrowid)
        log.info("inspection %d queued for review: %s", inspection_id, ", ".join(reasons))
        return self.get(item_id)

    def _add_reasons(
        self, item: ReviewItem, reasons: list[str], flagged_by: str | None
    ) -> ReviewItem:
        merged = list(dict.fromkeys([*item.reasons, *reasons]))
        with self.store.connection() as db:
            db.execute(
                "UPDATE review_items SET reasons = ?, flagged_by = COALESCE(flagged_by, ?) "
                "WHERE id = ?",
                (json.dumps(merged), flagged_by, item.id),
            )
        return self.get(item.id)

    def flag(
        self,
        inspection_id: int,
        *,
        by: str,
        image: np.ndarray | None = None,
        result: InspectionResult | None = None,
        folder: str | Path | None = None,
        bundle: Bundle | None = None,
    ) -> ReviewItem:
        """An operator's flag. A queued part gets the reason added; another part is queued when
        its original can be had: archived with its row, else `image` (the frame on screen),
        then archived under `folder` (default the store's folder)/review/images/. `result`
        (the part's InspectionResult) adds the U-Net mask and heat map, `bundle` (the one that
        judged it) the defect types and the heat threshold."""
        if not by:
            raise ReviewError(f"inspection {inspection_id}: flag: who flags must be given (by)")
        existing = self.for_inspection(inspection_id)
        if existing is not None:
            return self._add_reasons(existing, ["operator_flag"], by)
        record = self.store.get(inspection_id)
        if record is None:
            raise ReviewError(f"inspection {inspection_id}: no such row in {self.store.path}")
        if record.verdict not in ("OK", "NG"):
            raise ReviewError(f"inspection {inspection_id}: a failed frame cannot be reviewed")
        folder = Path(folder) if folder is not None else self.store.path.parent
        image_path = record.image_path  # the archived file, byte for byte, when there is one
        if image_path is None and image is not None:
            image_path = _write_plane(folder, "images", f"{inspection_id:08d}", image)
        if image_path is None:
            raise ReviewError(
                f"inspection {inspection_id}: flag: its original was not archived "
                "(pass the image on screen)"
            )
        if result is None:
            result = _bare_result(record, image)
        return self.add(
            inspection_id,
            ["operator_flag"],
            image_path=image_path,
            result=result,
            folder=folder,
            bundle=bundle,
            flagged_by=by,
        )

    # --- deciding -----------------------------------------------------------------------------
    def decide(
        self,
        item_id: int,
        decision: str,
        *,
        reviewer: str,
        defect_type: str | None = None,
        mask: np.ndarray | None = None,
        allow_empty_mask: bool = False,
    ) -> ReviewItem:
        """Store a decision (a new row; the latest counts). "good" takes no type and no mask;
        "defective" needs a defect type (the bundle's or a new plain name) and the reviewer's
        mask, bool or uint8 at the image's full resolution, not all zero unless
        `allow_empty_mask` (a defect the reviewer cannot outline, e.g. a missing part).
        Raises ReviewError naming the field at fault."""
        item = self.get(item_id)
        where = f"review item {item_id}"
        if item is None:
            raise ReviewError(f"{where}: not in the queue")
        if decision not in DECISIONS:
            raise ReviewError(f"{where}: decision: {decision!r} is not one of {DECISIONS}")
        if not reviewer or not reviewer.strip():
            raise ReviewError(f"{where}: reviewer: must be given")
        painted = None
        if decision == "good":
            if defect_type is not None:
                raise ReviewError(f"{where}: defect_type: a good part has none")
            if mask is not None:
                raise ReviewError(f"{where}: mask: a good part has no defect mask")
        else:
            if defect_type is None or not DEFECT_TYPE.fullmatch(defect_type):
                raise ReviewError(
                    f"{where}: defect_type: {defect_type!r} must be a plain name "
                    "(letters, digits, _ . -)"
                )
            if defect_type == "good":
                raise ReviewError(f"{where}: defect_type: 'good' is not a defect type")
            painted = _checked_mask(mask, item, allow_empty_mask, where)
        with self.store.connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                cursor = db.execute(
                    "INSERT INTO review_decisions (item_id, decision, defect_type, reviewer, "
                    "time) VALUES (?, ?, ?, ?, ?)",
                    (item_id, decision, defect_type, reviewer.strip(), time.time()),
                )
                decision_id = int(cursor.lastrowid)
                if painted is not None:
                    path = self.masks_dir / f"{item_id:06d}-{decision_id:06d}.png"
                    _write_png(path, painted)
                    db.execute(
                        "UPDATE review_decisions SET mask_path = ? WHERE id = ?",
                        (str(path), decision_id),
                    )
            except OSError as exc:
                db.execute("ROLLBACK")
                raise ReviewError(f"{where}: mask: cannot be written ({exc})") from None
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        return self.get(item_id)


def model_verdicts(result: InspectionResult) -> tuple[str | None, str | None]:
    """(U-Net verdict, anomaly verdict) of a result, each "OK"/"NG", None without that model."""
    unet = anomaly = None
    if result.probability is not None and result.thresholds.pixel_threshold is not None:
        unet = "NG" if any(r.source == "segmentation" for r in result.regions) else "OK"
    score, limit = result.anomaly_score, result.image_threshold
    if score is not None and limit is not None:
        anomaly = "NG" if score >= limit else "OK"
    return unet, anomaly


def unet_mask_png(result: InspectionResult) -> np.ndarray | None:
    """The U-Net mask as judged (regions kept), 0/255 uint8 at the image's resolution."""
    if result.mask is None:
        return None
    height, width = result.image_shape
    mask = result.mask.astype(np.uint8) * 255
    if mask.shape != (height, width):
        mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)
    return mask


def heat_png(result: InspectionResult) -> np.ndarray | None:
    """The bundle-normalised heat map, [0, 1] as 0..255 uint8 at the image's resolution."""
    if result.heat is None:
        return None
    height, width = result.image_shape
    heat = result.heat
    if heat.shape != (height, width):
        heat = cv2.resize(heat, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(np.rint(heat * 255), 0, 255).astype(np.uint8)


def read_mask(path: str | Path) -> np.ndarray:
    """A review PNG (U-Net or painted mask) as bool; raises ReviewError naming the file."""
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise ReviewError(f"{path}: cannot read mask")
    return mask > 127


def heat_threshold(result: InspectionResult, bundle: Bundle | None) -> float | None:
    """The map threshold (on the raw anomaly map) on the heat's [0, 1] scale, where the heat
    PNG is drawn: the bundle normalises the map by its map_low / map_high."""
    limit = result.thresholds.map_threshold
    spec = bundle.anomaly if bundle is not None else None
    if limit is None or spec is None or spec.map_high == spec.map_low:
        return None
    return float(np.clip((limit - spec.map_low) / (spec.map_high - spec.map_low), 0.0, 1.0))


def _checked_mask(
    mask: np.ndarray | None, item: ReviewItem, allow_empty: bool, where: str
) -> np.ndarray:
    if mask is None:
        raise ReviewError(f"{where}: mask: a defective part needs the defect's mask")
    mask = np.asarray(mask)
    expected = (item.image_height, item.image_width)
    if mask.shape != expected:
        raise ReviewError(
            f"{where}: mask: shape {mask.shape} is not the image's (height, width) {expected}"
        )
    if mask.dtype != np.bool_ and mask.dtype != np.uint8:
        raise ReviewError(f"{where}: mask: must be bool or uint8, got {mask.dtype}")
    painted = (mask > 0).astype(np.uint8) * 255
    if not painted.any() and not allow_empty:
        raise ReviewError(f"{where}: mask: empty (paint the defect, or say it has no outline)")
    return painted


def _write_plane(folder: Path, kind: str, stem: str, image: np.ndarray | None) -> str | None:
    """Write a queued part's image under folder/review/<kind>/; None when there is none or it
    cannot be written (logged: the part is still queued)."""
    if image is None:
        return None
    path = folder / REVIEW_DIR / kind / f"{stem}.png"
    try:
        _write_png(path, image)
    except OSError as exc:
        log.error("%s: review image not written: %s", path, exc)
        return None
    return str(path)


def _write_png(path: Path, image: np.ndarray) -> None:
    """Write under a temporary name, then rename: never a half-written PNG under its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp.png")
    try:
        write_image(temp, image)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def _bare_result(record: Record, image: np.ndarray | None) -> InspectionResult:
    """A flagged part's result rebuilt from its stored row (no planes): enough for the item."""
    if image is not None:
        shape = image.shape[:2]
    else:
        read = cv2.imread(str(record.image_path), cv2.IMREAD_UNCHANGED)
        if read is None:
            raise ReviewError(f"{record.image_path}: archived original cannot be read")
        shape = read.shape[:2]
    return InspectionResult(
        verdict=Verdict(record.verdict),
        reasons=[],
        image_shape=(int(shape[0]), int(shape[1])),
        thresholds=Thresholds(record.threshold, None, 0, None),
        anomaly_score=record.score,
    )


def _pending_filter(pending: bool | None) -> str:
    if pending is None:
        return ""
    return " WHERE d.id IS NULL" if pending else " WHERE d.id IS NOT NULL"


def _item(row: tuple) -> ReviewItem:
    values = dict(zip(_ITEM_FIELDS, row, strict=True))
    values["reasons"] = json.loads(values["reasons"])
    values["defect_types"] = json.loads(values["defect_types"])
    return ReviewItem(**values)
