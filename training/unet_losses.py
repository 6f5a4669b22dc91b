"""The U-Net's training loss: binary cross-entropy plus soft Dice, on logits."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def soft_dice_loss(
    logits: torch.Tensor, target: torch.Tensor, pooling: str, eps: float = 1.0
) -> torch.Tensor:
    """1 - soft Dice. Pooled over the batch, good images only add to the denominator; per
    image, the mean over the defective images (good ones are left to the BCE term), so a thin
    scratch weighs as much as a whole flipped part."""
    prob = torch.sigmoid(logits.float())
    if pooling == "batch":
        inter = (prob * target).sum()
        return 1 - (2 * inter + eps) / (prob.sum() + target.sum() + eps)
    pixels = tuple(range(1, prob.ndim))
    truth = target.sum(pixels)
    defective = truth > 0
    if not defective.any():
        return prob.new_zeros(())
    dice = (2 * (prob * target).sum(pixels) + eps) / (prob.sum(pixels) + truth + eps)
    return 1 - dice[defective].mean()


def dice_bce_loss(logits: torch.Tensor, target: torch.Tensor, pooling: str) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits.float(), target) + soft_dice_loss(
        logits, target, pooling
    )
