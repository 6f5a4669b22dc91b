"""`station-inspect`: inspect a folder, video, image or camera with a model bundle.

Exit codes: 0 every input inspected and saved (with --watch: until Ctrl-C); 1 some inputs
failed (listed, and recorded in the results) or the run was stopped before the end; 2 the run
could not start or had to stop (usage, bundle, source or output error).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from engine.batch import BatchProgress, BatchSummary, run_batch
from engine.bundle import BundleError, load_bundle
from engine.imageio import max_pixels_setting
from engine.inspector import Inspector
from engine.overlay import MODES
from engine.providers import ProviderError
from engine.recorder import DB_NAME, NG_DIR, OVERLAY_DIR, POLICIES
from engine.sources import SourceError
from engine.store import ResultStore, StoreError
from engine.variants import CHOICES as VARIANT_CHOICES

log = logging.getLogger("station.inspect")

EXIT_OK, EXIT_FAILED_INPUTS, EXIT_ERROR = 0, 1, 2
SHOWN_IDS = 10  # NG ids and failures printed; the full lists are in summary.json


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="station-inspect",
        description=(
            "Inspect every image of SOURCE with a model bundle and write the results to --out: "
            f"{DB_NAME} (one row per image), results.csv, results.json, summary.json, "
            f"overlays in {OVERLAY_DIR}/ and copies of NG images in {NG_DIR}/. Run it again "
            "with the same --out to resume an interrupted run: images already done are skipped."
        ),
        epilog="Exit codes: 0 all inspected, 1 some inputs failed or the run was stopped "
        "early (Ctrl-C stops after the current image), 2 could not run.",
    )
    parser.add_argument(
        "source",
        metavar="SOURCE",
        help="image file, folder (searched recursively), video file, camera index (0) or "
        "stream URL (rtsp://..., http://...)",
    )
    parser.add_argument("--bundle", required=True, help="model bundle folder or .zip")
    parser.add_argument("--out", required=True, type=Path, help="output folder (created)")
    parser.add_argument(
        "--overlays",
        choices=POLICIES,
        default="ng",
        help="which images get an overlay picture (default: ng)",
    )
    parser.add_argument(
        "--overlay-mode",
        choices=[m for m in MODES if m != "none"],
        default="mask",
        help="what the overlay shows (default: mask)",
    )
    parser.add_argument(
        "--provider",
        help="onnxruntime execution provider: cpu, cuda, directml, coreml or auto "
        "(default: env STATION_PROVIDER, else the fastest available)",
    )
    parser.add_argument(
        "--variant",
        choices=VARIANT_CHOICES,
        help="model precision: int8 or fp32 for every model that has it, or auto: a variant "
        "on the CPU provider when its recorded accuracy passes the gate "
        "(default: env STATION_VARIANT, else auto; docs/quantization.md)",
    )
    parser.add_argument(
        "--watch",
        action="store_true",
        help="for a folder: keep watching for new images until Ctrl-C",
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=0.5,
        help="seconds between folder scans with --watch (default: 0.5)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(message)s",
    )
    try:
        max_pixels_setting()  # read per image later: a bad value must stop here, not each part
    except ValueError as exc:
        log.error("environment: %s", exc)
        return EXIT_ERROR
    try:
        # before --out is made
        inspector = Inspector(load_bundle(args.bundle), args.provider, args.variant)
        _check_writable(args.out)
        summary = _run(inspector, args)
        paths = _write_reports(summary, args.out)
    except (BundleError, ProviderError, SourceError, StoreError, OSError) as exc:
        log.error("%s", exc)
        return EXIT_ERROR
    except KeyboardInterrupt:
        log.error("interrupted; run again with the same --out to resume")
        return EXIT_ERROR
    _print_summary(summary, paths)
    incomplete = summary.cancelled and not args.watch  # with --watch, Ctrl-C is the way to end
    return EXIT_FAILED_INPUTS if summary.failed or incomplete else EXIT_OK


def _check_writable(out: Path) -> None:
    """Fail before any inspection if the output folder cannot be created or written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise OSError(f"{out}: output folder cannot be written ({exc.strerror or exc})") from None


def _run(inspector: Inspector, args: argparse.Namespace) -> BatchSummary:
    """Run the batch with a progress bar; Ctrl-C (or SIGTERM) stops after the current image,
    a second Ctrl-C at once."""
    cancel = threading.Event()

    def stop(signum: int, _frame: object) -> None:
        log.warning("stopping after the current image (run again to resume)")
        cancel.set()
        again = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
        signal.signal(signum, again)

    # Signal handlers can only be set from the main thread (not when a GUI worker calls main).
    on_main = threading.current_thread() is threading.main_thread()
    previous = (
        {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)} if on_main else {}
    )
    bar = tqdm(unit="img", disable=args.no_progress, dynamic_ncols=True)

    def advance(item: BatchProgress) -> None:
        if bar.total is None and item.total is not None:
            bar.total = item.total
        bar.set_postfix_str(f"{item.verdict} {item.frame_id}", refresh=False)
        bar.update(1)

    try:
        with logging_redirect_tqdm():
            return run_batch(
                inspector,
                args.source,
                args.out,
                overlays=args.overlays,
                overlay_mode=args.overlay_mode,
                watch=args.watch,
                poll_interval=args.poll_interval,
                progress=advance,
                cancel=cancel,
            )
    finally:
        bar.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _write_reports(summary: BatchSummary, out: Path) -> dict[str, Path]:
    """Write summary.json, then export every stored row to CSV and JSON. The summary comes
    first and each file is written whole or not at all (a full disk): what could not be
    written is logged, and the others are still written."""
    paths = {"database": out / DB_NAME}
    reports = (
        ("summary", "summary.json", lambda temp: temp.write_text(_summary_json(summary), "utf-8")),
        ("csv", "results.csv", lambda temp: _export(out, ResultStore.export_csv, temp)),
        ("json", "results.json", lambda temp: _export(out, ResultStore.export_json, temp)),
    )
    for key, name, write in reports:
        target = out / name
        temp = target.with_name(f".{target.name}.tmp")
        try:
            write(temp)
            temp.replace(target)
        except (OSError, StoreError) as exc:
            log.error("%s: not written (%s)", target, exc)
            temp.unlink(missing_ok=True)
        else:
            paths[key] = target
    return paths


def _summary_json(summary: BatchSummary) -> str:
    return json.dumps(asdict(summary), indent=2)


def _export(out: Path, export: Callable[[ResultStore, Path], Path], path: Path) -> None:
    with ResultStore(out / DB_NAME) as store:
        export(store, path)


def _print_summary(summary: BatchSummary, paths: dict[str, Path]) -> None:
    lines = [
        f"Source: {summary.source}",
        f"Bundle: {summary.bundle_name} ({summary.bundle_digest[:12]}), providers "
        + ", ".join(f"{role}: {p[0]}" for role, p in summary.providers.items())
        + "; precision "
        + ", ".join(f"{role}: {p}" for role, p in summary.precisions.items()),
        f"This run: {summary.inspected} inspected, {summary.resumed} already done earlier"
        + (" (stopped early; run again to resume)" if summary.cancelled else ""),
        f"All runs: {summary.total} images: OK {summary.ok}, NG {summary.ng}, "
        f"errors {summary.errors}"
        + (
            f", yield {summary.ok / (summary.ok + summary.ng):.1%}"
            if summary.ok + summary.ng
            else ""
        ),
    ]
    if summary.dropped:
        lines.append(f"Live frames not inspected (newer frame came first): {summary.dropped}")
    if summary.mean_ms is not None:
        lines.append(
            f"Latency per image: mean {summary.mean_ms:.1f} ms, p95 {summary.p95_ms:.1f} ms"
        )
    if summary.ng_ids:
        lines.append("NG: " + _first(summary.ng_ids))
    if summary.failures:
        lines.append(f"Failed ({len(summary.failures)}):")
        lines += [f"  {f['origin']}: {f['error']}" for f in summary.failures[:SHOWN_IDS]]
        if len(summary.failures) > SHOWN_IDS:
            lines.append(f"  ... and {len(summary.failures) - SHOWN_IDS} more in summary.json")
    if summary.not_stored:
        lines.append(f"Judged but NOT STORED ({len(summary.not_stored)}), inspect them again:")
        lines += [
            f"  {f['origin']}: {f['verdict']} ({f['error']})"
            for f in summary.not_stored[:SHOWN_IDS]
        ]
    if summary.source_error:
        lines.append(f"Source stopped: {summary.source_error}")
    if summary.skipped_files:
        lines.append(
            f"Skipped {len(summary.skipped_files)} non-image file(s): "
            + _first(summary.skipped_files)
        )
    out = Path(summary.out_dir)
    lines.append(
        "Results: "
        + ", ".join(str(p) for p in paths.values())
        + f"; overlays in {out / OVERLAY_DIR}, NG images in {out / NG_DIR}"
    )
    print("\n".join(lines))


def _first(items: list[str]) -> str:
    more = f" ... (+{len(items) - SHOWN_IDS} more)" if len(items) > SHOWN_IDS else ""
    return ", ".join(items[:SHOWN_IDS]) + more


if __name__ == "__main__":
    sys.exit(main())
