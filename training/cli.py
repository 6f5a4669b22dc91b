"""`station-train`: one entry point for every training job, one module per subcommand.

Each subcommand module exposes `add_arguments(parser)` and `run(args) -> int`.
"""

import argparse
import importlib
import logging
import sys

SUBCOMMANDS = {
    "unet": ("training.train_unet", "train the U-Net defect segmentation model into a bundle"),
    "anomaly": ("training.train_anomaly", "fit the VGG16 anomaly model on good parts"),
    "explore": ("training.explore", "clustering study: PCA, K-means vs DBSCAN, t-SNE report"),
    "evaluate": ("training.evaluate", "evaluate a bundle through the station's Inspector"),
    "samples": ("training.samples", "copy held-out sample images a bundle never saw"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="station-train",
        description="Train, study and evaluate Inspection Station model bundles "
        "(datasets in MVTec AD layout).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, summary) in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        child = sub.add_parser(name, help=summary, description=module.__doc__)
        module.add_arguments(child)
        child.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
