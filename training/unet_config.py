"""What defines a U-Net training run: `TrainConfig`, whose fields are also the command-line
options of `station-train unet` (and of `station-train crossval --kfold`), and the command
line that trains a configuration again."""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.bundle import InputSpec
from training.config_options import add_config_options, option, option_words
from training.seg_data import AugmentConfig
from training.seg_data import input_spec as make_input_spec
from training.unet import UNetConfig

INPUT_NAME = "image"
PRECISIONS = ("auto", "mixed", "fp32")
DICE_POOLING = ("batch", "image")


@dataclass
class TrainConfig:
    """Everything that defines a training run; stored in checkpoints and the manifest."""

    seed: int = option(0, "seed of the split, weight init and augmentation")
    size: int = option(256, "square model input size in pixels, a multiple of 2**depth")
    base_width: int = option(16, "channels of the first U-Net level; doubles per level")
    depth: int = option(4, "number of down-sampling levels")
    epochs: int = option(250, "maximum epochs")
    patience: int = option(
        0,
        "stop after this many epochs without a better validation Dice, checked only in the "
        "second half of the schedule; 0 = off. Off by default: the cosine schedule keeps "
        "improving the model until its low-rate end, and stopping on an early peak of the "
        "noisy validation Dice cost 5-fold cross-validation folds up to 0.4 Dice",
    )
    val_every: int = option(10, "validate (and keep the best model) every this many epochs")
    crop: int = option(
        0,
        "train on random square crops of this many pixels of the resized image, half of them "
        "centred on a defect pixel; 0 trains on whole images. Crops make a step several times "
        "cheaper; validation and inspection always see the whole image",
    )
    batch_size: int = option(8, "images per step")
    lr: float = option(2e-3, "AdamW learning rate")
    weight_decay: float = option(1e-4, "AdamW weight decay")
    good_ratio: float = option(0.5, "good images drawn per defective image in each epoch")
    val_fraction: float = option(
        0.2, "fraction of each defect type (and of good images) for validation"
    )
    test_fraction: float = option(
        0.2, "fraction held out for the final test, never seen in training"
    )
    mirror_prob: float = option(
        0.0,
        "chance of mirroring a training image. Off by default: a mirrored part has the other "
        "handedness, which is how an upside-down ('flip') metal nut differs from a good one; "
        "in trials it lowered mean Dice",
    )
    dice_pooling: str = option(
        "image",
        "soft Dice term of the loss: 'batch' pools every pixel of the batch, so large defects "
        "weigh most; 'image' averages the Dice of each defective image, so a small defect "
        "counts as much as a whole flipped part. 'image' scored higher on 4 of 5 "
        "cross-validation folds (mean Dice 0.766 against 0.725)",
        choices=DICE_POOLING,
    )
    max_val_false_reject: float = option(
        0.0, "fraction of good validation images the chosen thresholds may reject"
    )
    time_limit_min: float = option(
        27.0,
        "stop training (keeping the best model) before an epoch would end after this many "
        "minutes; the learning rate anneals over this budget if it is shorter than --epochs "
        "would take. 0 for no limit",
    )
    precision: str = option(
        "auto",
        "training arithmetic: mixed = float16 autocast on a GPU, bfloat16 on a CPU; auto = "
        "mixed on a GPU or a CPU with native bf16 (AVX512-BF16/AMX), else fp32",
        choices=PRECISIONS,
    )
    threads: int = option(
        0,
        "CPU threads for torch; 0 = the cores other processes leave idle (sampled for half a "
        "second at the start), at least 1: on a shared CPU, more threads than free cores make "
        "every step several times slower",
    )
    workers: int = option(
        0,
        "data-loading worker processes (default %(default)s: augment in the main process, "
        "best on a 2-core CPU)",
    )
    augment: dict[str, Any] = field(default_factory=dict)  # AugmentConfig overrides; no option

    def unet(self) -> UNetConfig:
        return UNetConfig(base_width=self.base_width, depth=self.depth)

    def augment_config(self) -> AugmentConfig:
        return AugmentConfig(**{**self.augment, "mirror_prob": self.mirror_prob})

    def input_spec(self) -> InputSpec:
        """The model input block: `size` square, named INPUT_NAME."""
        return make_input_spec(self.size, INPUT_NAME)


def add_config_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """The training hyper-parameters (TrainConfig fields) and the device."""
    add_config_options(parser, TrainConfig)
    parser.add_argument(
        "--device", default=None, help="torch device, e.g. cpu or cuda (default: cuda if available)"
    )


def reproduce_command(cat_dir: Path, out_dir: Path, config: TrainConfig) -> str:
    """The `station-train unet` command line that trains this configuration again."""
    words = ["station-train", "unet", "--data", str(cat_dir.parent), "--category", cat_dir.name,
             "--out", str(out_dir)]  # fmt: skip
    return shlex.join(words + option_words(config))
