"""`station export-dataset`: the reviewed parts of a results store as an MVTec AD dataset.

Parts the reviewer confirmed good go to `train/good/`; defective ones to `test/<type>/` with
their painted mask as `ground_truth/<type>/<name>_mask.png`: the layout every `station-train`
command reads. Names continue the numbering of what a folder holds (`000.png`, `001.png`, ...),
so an export never overwrites or renumbers an image already there. `--merge EXISTING` starts
the new dataset from an existing one (hard-linked where the file system allows, else copied;
EXISTING itself is not touched), so its names, and any split a bundle recorded on them, stay
valid.

`provenance.csv` lists each exported image: station, recipe, bundle, inspection time, reviewer,
decision and the part's source ids. An export into a dataset whose provenance already lists a
part (by its run and inspection id) passes over it, so exporting the same store again exports
nothing twice; a part whose decision changed after it was exported is reported, not moved.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import shutil
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.imageio import ImageReadError, read_image, write_image
from engine.recorder import DB_NAME
from engine.review import ReviewItem, ReviewQueue
from engine.store import ResultStore, StoreError

log = logging.getLogger(__name__)

PROVENANCE = "provenance.csv"
PROVENANCE_FIELDS = (
    "file",
    "mask",
    "decision",
    "defect_type",
    "reviewer",
    "decided_time",
    "station",
    "recipe",
    "bundle_name",
    "bundle_digest",
    "inspection_time",
    "source",
    "frame_id",
    "run_id",
    "inspection_id",
    "review_item",
    "decision_id",
)
GOOD = "good"


class ExportError(Exception):
    """The dataset cannot be written or merged; the message names the file or folder."""


@dataclass
class ExportSummary:
    out: Path
    good: int = 0  # images written to train/good
    defective: dict[str, int] = field(default_factory=dict)  # per defect type
    already: int = 0  # parts the dataset's provenance already lists: passed over
    changed: list[str] = field(default_factory=list)  # exported before, decision changed since
    failed: list[str] = field(default_factory=list)  # "file: reason" of parts not exported

    @property
    def exported(self) -> int:
        return self.good + sum(self.defective.values())


def export_dataset(
    store: ResultStore,
    out: Path | str,
    *,
    merge: Path | str | None = None,
    station: str | None = None,
) -> ExportSummary:
    """Write the decided review items of `store` into the dataset folder `out` (created, or
    added to); with `merge`, `out` starts as a copy of that dataset. `station` names this
    station in the provenance (default: the host name). Raises ExportError naming the folder
    when the dataset cannot be set up; a part that cannot be exported is listed in `failed`."""
    out = Path(out)
    if merge is not None:
        _start_from(Path(merge), out)
    out.mkdir(parents=True, exist_ok=True)
    listed = _read_provenance(out / PROVENANCE)
    summary = ExportSummary(out)
    station = station or socket.gethostname()
    queue = ReviewQueue(store)
    for item in queue.items(pending=False):
        record = store.get(item.inspection_id)
        if record is None:
            summary.failed.append(f"review item {item.id}: inspection row missing")
            continue
        key = (record.run_id, str(record.id))
        if key in listed:
            summary.already += 1
            if listed[key]["decision_id"] != str(item.decision_id):
                summary.changed.append(listed[key]["file"])
            continue
        try:
            row = _export_item(out, item)
        except (OSError, ImageReadError) as exc:
            summary.failed.append(f"{item.image_path}: {exc}")
            log.error("review item %d not exported: %s", item.id, exc)
            continue
        row.update(
            station=station,
            recipe=record.recipe_id or "",
            bundle_name=record.bundle_name or "",
            bundle_digest=record.bundle_digest or "",
            inspection_time=_iso(record.time),
            source=record.source,
            frame_id=record.frame_id,
            run_id=record.run_id,
            inspection_id=record.id,
            review_item=item.id,
            decision_id=item.decision_id,
        )
        _append_provenance(out / PROVENANCE, row)
        listed[key] = {k: str(v) for k, v in row.items()}
        if item.decision == GOOD:
            summary.good += 1
        else:
            summary.defective[item.defect_type] = summary.defective.get(item.defect_type, 0) + 1
    return summary


def _export_item(out: Path, item: ReviewItem) -> dict[str, object]:
    """Copy one decided part (and its mask) to its next free name; returns its provenance."""
    if item.decision == GOOD:
        image = add_image(out / "train" / GOOD, Path(item.image_path))
        mask = None
    else:
        if item.mask_path is None:
            raise OSError(f"review item {item.id}: defective without a mask")
        image = add_image(out / "test" / item.defect_type, Path(item.image_path))
        mask = out / "ground_truth" / item.defect_type / f"{image.stem}_mask.png"
        try:
            _copy_new(Path(item.mask_path), mask)
        except BaseException:
            image.unlink(missing_ok=True)
            raise
    return {
        "file": image.relative_to(out).as_posix(),
        "mask": mask.relative_to(out).as_posix() if mask else "",
        "decision": item.decision,
        "defect_type": item.defect_type or "",
        "reviewer": item.reviewer or "",
        "decided_time": _iso(item.decided_time),
    }


def add_image(folder: Path, source: Path) -> Path:
    """Copy `source` into `folder` as the next number after the highest there (`NNN.png`);
    a PNG is copied byte for byte, another format is decoded and written as PNG. Never
    replaces a file: a name taken meanwhile moves on to the next number."""
    folder.mkdir(parents=True, exist_ok=True)
    number = next_number(folder)
    temp = folder / f".export-{os.getpid()}.tmp.png"
    try:
        if source.suffix.lower() == ".png":
            shutil.copyfile(source, temp)
        else:
            write_image(temp, read_image(source))
        while True:
            target = folder / f"{number:03d}.png"
            try:
                os.link(temp, target)
                return target
            except FileExistsError:
                number += 1
    finally:
        temp.unlink(missing_ok=True)


def next_number(folder: Path) -> int:
    """One past the highest numeric file name in `folder` (0 for an empty folder)."""
    numbers = [int(p.stem) for p in folder.iterdir() if p.is_file() and p.stem.isdigit()]
    return max(numbers, default=-1) + 1


def _copy_new(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        raise FileExistsError(f"{target}: already exists; not overwritten")
    shutil.copyfile(source, target)


def _start_from(existing: Path, out: Path) -> None:
    """Make `out` a copy of the dataset `existing` (hard links where possible)."""
    if not (existing / "train" / GOOD).is_dir():
        raise ExportError(f"{existing}: not an MVTec-layout dataset (no train/good folder)")
    if out.resolve() == existing.resolve():
        return  # adding in place
    if out.exists():
        raise ExportError(
            f"{out}: already exists; merge into a new folder, or export into {out} without "
            "--merge to add to it"
        )
    try:
        shutil.copytree(existing, out, copy_function=_link_or_copy)
    except (OSError, shutil.Error) as exc:
        raise ExportError(f"{out}: cannot copy {existing} ({exc})") from None


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or one without hard links
        shutil.copy2(source, target)


def _read_provenance(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    """Rows of a dataset's provenance by (run id, inspection id); empty without the file."""
    if not path.exists():
        return {}
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ExportError(f"{path}: cannot read provenance ({exc})") from None
    if rows and not {"run_id", "inspection_id", "file"} <= set(rows[0]):
        raise ExportError(f"{path}: not an export provenance file (columns {list(rows[0])})")
    return {(row["run_id"], row["inspection_id"]): row for row in rows}


def _append_provenance(path: Path, row: dict[str, object]) -> None:
    """One row per exported image, written as it is exported: a stopped export loses none."""
    new = not path.exists()
    with path.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, PROVENANCE_FIELDS)
        if new:
            writer.writeheader()
        writer.writerow({name: row.get(name, "") for name in PROVENANCE_FIELDS})


def _iso(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(seconds))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="station export-dataset",
        description=(
            "Write the reviewed parts of a results store as an MVTec AD dataset: good parts to "
            "train/good/, defective ones to test/<type>/ with ground_truth/<type>/NNN_mask.png, "
            f"and {PROVENANCE} listing where each image came from. Exporting the same store "
            "again adds only parts decided since."
        ),
        epilog="Exit codes: 0 exported, 1 some parts could not be exported (listed), 2 could "
        "not export.",
    )
    parser.add_argument(
        "--store", required=True, type=Path, help=f"{DB_NAME} (or the folder holding it)"
    )
    parser.add_argument("--out", required=True, type=Path, help="dataset folder to write")
    parser.add_argument(
        "--merge",
        type=Path,
        default=None,
        metavar="EXISTING",
        help="start --out as a copy of this dataset (left unchanged); new images continue "
        "its numbering",
    )
    parser.add_argument("--station", default=None, help="station name for the provenance")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    path = args.store / DB_NAME if args.store.is_dir() else args.store
    if not path.is_file():
        print(f"station export-dataset: error: {path}: no results store", file=sys.stderr)
        return 2
    try:
        with ResultStore(path) as store:
            summary = export_dataset(store, args.out, merge=args.merge, station=args.station)
    except (ExportError, StoreError) as exc:
        print(f"station export-dataset: error: {exc}", file=sys.stderr)
        return 2
    kinds = ", ".join(f"{n} {name}" for name, n in sorted(summary.defective.items()))
    print(
        f"{summary.out}: {summary.exported} image(s) exported ({summary.good} good"
        f"{', ' + kinds if kinds else ''}); {summary.already} exported before"
    )
    for name in summary.changed:
        print(f"  decision changed after export, not moved: {name}")
    for problem in summary.failed:
        print(f"  not exported: {problem}", file=sys.stderr)
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
