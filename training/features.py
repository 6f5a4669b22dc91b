"""VGG16 features of dataset images: input tensors, patch embeddings and global descriptors.

Images become tensors through `engine.preprocess.to_model_input`, the function the station runs,
so features seen in training are the features the exported model sees at inspection time.
The feature functions are plain torch ops; the exported anomaly graph calls the same ones.

Measured on metal_nut: raw VGG16 activations are dominated by a few large texture channels,
which drowned scratches (patch-model image AUROC 0.92); the square root of each activation,
L2-normalised per position and layer, lifted it to 0.999.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from tqdm import tqdm

from engine.bundle import InputSpec
from engine.imageio import read_image
from engine.preprocess import to_model_input
from training.mvtec import Sample

BATCH = 8
EPS = 1e-6


def image_tensor(sample: Sample, spec: InputSpec) -> torch.Tensor:
    """The model input [3, H, W] of one image, exactly as the station computes it."""
    return torch.from_numpy(to_model_input(read_image(sample.image), spec)[0])


def normalise_tap(tap: torch.Tensor) -> torch.Tensor:
    """sqrt of each (non-negative, post-ReLU) activation, then unit L2 norm over channels."""
    root = torch.sqrt(tap + EPS)
    return root / (torch.linalg.vector_norm(root, dim=1, keepdim=True) + EPS)


def patch_embedding(taps: Sequence[torch.Tensor], grid: int, smooth: int = 3) -> torch.Tensor:
    """[B, C, grid, grid]: each normalised tap averaged over a `smooth`² neighbourhood (so a
    patch feature describes its surroundings, as in PatchCore), brought to one grid and stacked
    by channel. Grids finer than the coarsest tap are bilinear upsamplings of it."""
    parts = []
    for tap in taps:
        tap = normalise_tap(tap)
        if smooth > 1:
            tap = F.avg_pool2d(tap, smooth, stride=1, padding=smooth // 2, count_include_pad=False)
        factor = tap.shape[-1] // grid
        if factor > 1:
            tap = F.avg_pool2d(tap, factor)
        elif tap.shape[-1] < grid:
            tap = F.interpolate(tap, size=(grid, grid), mode="bilinear", align_corners=False)
        parts.append(tap)
    return torch.cat(parts, dim=1)


def global_descriptor(taps: Sequence[torch.Tensor]) -> torch.Tensor:
    """[B, D] image descriptor: mean and standard deviation over positions of each
    normalised tap (the mean says what the part is made of, the spread how uniform it is)."""
    parts = []
    for tap in taps:
        t = normalise_tap(tap)
        mean = t.mean(dim=(2, 3))
        spread = torch.sqrt(F.relu((t * t).mean(dim=(2, 3)) - mean * mean) + EPS)
        parts += [mean, spread]
    return torch.cat(parts, dim=1)


def extract(
    samples: Sequence[Sample],
    spec: InputSpec,
    backbone: torch.nn.Module,
    reduce: Callable[[list[torch.Tensor]], tuple[torch.Tensor, ...]],
    desc: str = "features",
) -> tuple[torch.Tensor, ...]:
    """`reduce(backbone(batch))` for every image, each output concatenated on the batch axis."""
    chunks = []
    with torch.no_grad():
        for start in tqdm(range(0, len(samples), BATCH), desc=desc, unit="batch", leave=False):
            batch = torch.stack([image_tensor(s, spec) for s in samples[start : start + BATCH]])
            chunks.append(reduce(backbone(batch)))
    return tuple(torch.cat(parts) for parts in zip(*chunks, strict=True))
