"""A small, readable U-Net (Ronneberger et al. 2015), after milesial/Pytorch-UNet.

Depth and base width are configurable. The default (depth 4, base width 16) is sized to train
on a 2-core CPU in minutes at 256x256 input; the original paper's network is depth 4, width 64.
The model returns logits; `ProbabilityHead` wraps it with a sigmoid for export, so the ONNX graph
the station runs outputs probabilities.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class UNetConfig:
    """Architecture hyper-parameters; stored in checkpoints so a model can be rebuilt."""

    in_channels: int = 3
    base_width: int = 16
    depth: int = 4

    def to_dict(self) -> dict:
        return asdict(self)


class DoubleConv(nn.Module):
    """(3x3 conv -> BatchNorm -> ReLU) twice: the building block of every U-Net level."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class Down(nn.Module):
    """Halve the resolution, then widen: max-pool followed by a DoubleConv."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class Up(nn.Module):
    """Double the resolution, concatenate the skip connection, then narrow with a DoubleConv.

    Bilinear upsampling plus a 1x1 conv (instead of a transposed conv) avoids checkerboard
    artefacts and exports to ONNX as a plain Resize.
    """

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int) -> None:
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.reduce = nn.Conv2d(in_channels, out_channels, kernel_size=1)
        self.conv = DoubleConv(out_channels + skip_channels, out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.reduce(self.up(x))
        return self.conv(torch.cat([skip, x], dim=1))


class UNet(nn.Module):
    """Encoder-decoder with skip connections; one output channel of defect logits.

    Input height and width must be multiples of 2**depth.
    """

    def __init__(self, config: UNetConfig | None = None) -> None:
        super().__init__()
        self.config = config or UNetConfig()
        widths = [self.config.base_width * 2**level for level in range(self.config.depth + 1)]
        self.inc = DoubleConv(self.config.in_channels, widths[0])
        self.downs = nn.ModuleList(Down(widths[i], widths[i + 1]) for i in range(len(widths) - 1))
        self.ups = nn.ModuleList(
            Up(widths[i + 1], widths[i], widths[i]) for i in reversed(range(len(widths) - 1))
        )
        self.outc = nn.Conv2d(widths[0], 1, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [self.inc(x)]
        for down in self.downs:
            skips.append(down(skips[-1]))
        x = skips.pop()
        for up in self.ups:
            x = up(x, skips.pop())
        return self.outc(x)


class ProbabilityHead(nn.Module):
    """Wraps a logits model with a sigmoid, so the exported graph outputs probabilities."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.model(x))
