"""`station-train`: one entry point for every training job, one module per subcommand.

Each subcommand module exposes `add_arguments(parser)` and `run(args) -> int`; only the chosen
one is imported, so one command's heavy imports never slow down or break another.
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
    "crossval": (
        "training.evaluate_segmentation",
        "k-fold cross-validation of the U-Net recipe (--kfold K), or a held-out report",
    ),
    "samples": ("training.samples", "copy held-out sample images a bundle never saw"),
    "compare": (
        "training.compare",
        "compare a challenger bundle with the champion on images neither trained on",
    ),
    "quantize": (
        "training.quantize",
        "add int8 variants of a bundle's models that keep their accuracy (measured)",
    ),
}


def build_parser(command: str | None) -> argparse.ArgumentParser:
    """The parser, with the options of `command` (the subcommand named on the line) loaded."""
    parser = argparse.ArgumentParser(
        prog="station-train",
        description="Train, study and evaluate Inspection Station model bundles "
        "(datasets in MVTec AD layout).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, summary) in SUBCOMMANDS.items():
        child = sub.add_parser(name, help=summary)
        if name == command:
            module = importlib.import_module(module_name)
            child.description = module.__doc__
            module.add_arguments(child)
            child.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((word for word in argv if word in SUBCOMMANDS), None)
    args = build_parser(command).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
