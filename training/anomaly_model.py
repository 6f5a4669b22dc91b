"""The anomaly model as one torch graph: image tensor -> (anomaly map, image score, global score).

Patch scoring is PatchCore-style: each patch embedding's distance to its nearest neighbour in a
memory bank of good-part patch embeddings (a greedy coreset), written as a matmul and a min so
it exports to plain ONNX ops. The global score is the study's PCA + K-means model on the same
backbone's pooled features: distance to the nearest K-means centroid of good parts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from training.backbone import VGGTaps
from training.features import global_descriptor, patch_embedding

EPS = 1e-6


@dataclass(frozen=True)
class GlobalModel:
    """PCA + K-means of good parts' global descriptors, as arrays (fitted by scikit-learn).

    score(x) = min_k || ((x - mean) / scale) @ projection - offset - centroids[k] ||
    """

    mean: np.ndarray  # [D] descriptor mean (standardisation)
    scale: np.ndarray  # [D] descriptor standard deviation
    projection: np.ndarray  # [D, k] PCA components, whitening folded in
    offset: np.ndarray  # [k] the PCA mean, projected
    centroids: np.ndarray  # [K, k] cluster centres in PCA space


def greedy_coreset(x: torch.Tensor, n: int, dim: int = 64, seed: int = 0) -> torch.Tensor:
    """Indices of `n` rows of `x` picked by greedy k-centre selection (PatchCore's coreset).

    Distances are computed in a random `dim`-dimensional projection (Johnson-Lindenstrauss),
    as PatchCore does; the matrix-vector form costs one pass over the projected rows per pick.
    """
    n = min(n, len(x))
    generator = torch.Generator().manual_seed(seed)
    projection = torch.randn(x.shape[1], dim, generator=generator) / math.sqrt(dim)
    z = x @ projection
    z_sq = (z * z).sum(dim=1)
    first = int(torch.randint(len(x), (1,), generator=generator))
    chosen = [first]
    nearest = z_sq - 2 * (z @ z[first]) + z_sq[first]
    for _ in range(n - 1):
        pick = int(nearest.argmax())
        chosen.append(pick)
        torch.minimum(nearest, z_sq - 2 * (z @ z[pick]) + z_sq[pick], out=nearest)
    return torch.tensor(chosen)


def gaussian_kernel(sigma: float) -> torch.Tensor:
    """1-D Gaussian kernel of width 2*ceil(3 sigma)+1, summing to 1."""
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-(x * x) / (2 * sigma * sigma))
    return kernel / kernel.sum()


class AnomalyGraph(nn.Module):
    """image [B, 3, S, S] -> map [B, 1, S, S], score [B], global_score [B].

    `map` is the blurred nearest-neighbour distance upsampled to the input size; `score` is its
    maximum, so a pixel at or above the image threshold means the image is NG.
    """

    def __init__(
        self,
        backbone: VGGTaps,
        size: int,
        grid: int,
        smooth: int,
        sigma: float,
        bank: torch.Tensor,
        global_model: GlobalModel | None = None,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.size, self.grid, self.smooth = size, grid, smooth
        self.register_buffer("bank", bank.float())
        # A buffer, not computed in forward: ONNX export would fold bank * bank into a second
        # bank-sized float32 constant.
        self.register_buffer("bank_sq", (self.bank * self.bank).sum(dim=1))
        self.register_buffer("kernel", gaussian_kernel(sigma))
        self.has_global = global_model is not None
        if global_model is not None:
            for name in ("mean", "scale", "projection", "offset", "centroids"):
                value = torch.as_tensor(getattr(global_model, name), dtype=torch.float32)
                self.register_buffer(f"g_{name}", value)

    def patch_distances(self, taps: list[torch.Tensor]) -> torch.Tensor:
        """[B, 1, grid, grid] distance of each patch embedding to its nearest bank entry."""
        patches = patch_embedding(taps, self.grid, self.smooth).flatten(2).transpose(1, 2)
        d2 = (patches * patches).sum(dim=2, keepdim=True) - 2 * patches @ self.bank.T + self.bank_sq
        nearest = torch.sqrt(F.relu(d2.min(dim=2).values) + EPS)
        return nearest.reshape(-1, 1, self.grid, self.grid)

    def blur(self, plane: torch.Tensor) -> torch.Tensor:
        k = self.kernel.numel()
        padded = F.pad(plane, (k // 2, k // 2, k // 2, k // 2), mode="replicate")
        padded = F.conv2d(padded, self.kernel.view(1, 1, 1, k))
        return F.conv2d(padded, self.kernel.view(1, 1, k, 1))

    def global_score(self, taps: list[torch.Tensor]) -> torch.Tensor:
        z = (global_descriptor(taps) - self.g_mean) / self.g_scale
        z = z @ self.g_projection - self.g_offset
        c = self.g_centroids
        d2 = (z * z).sum(dim=1, keepdim=True) - 2 * z @ c.T + (c * c).sum(dim=1)
        return torch.sqrt(F.relu(d2.min(dim=1).values) + EPS)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        taps = self.backbone(image)
        coarse = self.patch_distances(taps)
        fine = F.interpolate(coarse, size=(self.size, self.size), mode="bilinear")
        heat = self.blur(fine)
        score = heat.flatten(1).amax(dim=1)
        if self.has_global:
            return heat, score, self.global_score(taps)
        return heat, score
