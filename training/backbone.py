"""VGG16 convolutional base, truncated to the layers a model taps, with explicit weight sources.

Weights come from exactly one of three places, chosen by the caller:
``"imagenet"`` (torchvision's ``VGG16_Weights.IMAGENET1K_V1``: its cache, or a download),
a path to a local state dict (torchvision key names, e.g. the shared
``vgg16_imagenet_features.pth``), or ``"random"`` (tests only). Any failure is a
``BackboneWeightsError`` naming the file or cause: random features would still "work" and give
a silently useless model, so there is no fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn
from torchvision.models import VGG16_Weights, vgg16

log = logging.getLogger(__name__)

# Index of each ReLU output in torchvision's ``vgg16().features``, and its stride in pixels.
VGG16_TAPS = {
    "relu1_2": (3, 1),
    "relu2_2": (8, 2),
    "relu3_3": (15, 4),
    "relu4_3": (22, 8),
    "relu5_3": (29, 16),
}
VGG16_CHANNELS = {"relu1_2": 64, "relu2_2": 128, "relu3_3": 256, "relu4_3": 512, "relu5_3": 512}

WEIGHTS_HELP = (
    "VGG16 weights: 'imagenet' (torchvision's IMAGENET1K_V1, from the torch cache or downloaded), "
    "a path to a local state-dict file with torchvision key names "
    "(e.g. ../shared/weights/vgg16_imagenet_features.pth), or 'random' (tests only)"
)


class BackboneWeightsError(RuntimeError):
    """The requested VGG16 weights could not be loaded; the message says which and why."""


def _imagenet_features() -> nn.Sequential:
    try:
        return vgg16(weights=VGG16_Weights.IMAGENET1K_V1).features
    except Exception as exc:  # download/cache failures surface as many types; all mean the same
        cache = Path(torch.hub.get_dir()) / "checkpoints"
        raise BackboneWeightsError(
            f"could not load torchvision VGG16 ImageNet weights (not in {cache} and the download "
            f"failed: {exc}); pass --backbone-weights PATH to a local state-dict file instead"
        ) from exc


def _file_features(path: Path, needed: int) -> nn.Sequential:
    if not path.is_file():
        raise BackboneWeightsError(f"VGG16 weights file {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt/non-torch files
        raise BackboneWeightsError(f"VGG16 weights file {path} could not be read: {exc}") from exc
    if not isinstance(state, dict):
        raise BackboneWeightsError(f"VGG16 weights file {path} is not a state dict")
    # Accept torchvision's full-model keys ("features.0.weight") and bare ".features" keys.
    state = {k.removeprefix("features."): v for k, v in state.items()}
    features = vgg16(weights=None).features[:needed]
    expected = features.state_dict()
    missing = sorted(set(expected) - set(state), key=lambda k: int(k.split(".")[0]))
    if missing:
        raise BackboneWeightsError(
            f"VGG16 weights file {path} lacks {len(missing)} tensors the model needs "
            f"(first: {missing[0]})"
        )
    for key, tensor in expected.items():
        if state[key].shape != tensor.shape:
            raise BackboneWeightsError(
                f"VGG16 weights file {path}: {key} has shape {tuple(state[key].shape)}, "
                f"expected {tuple(tensor.shape)}"
            )
    features.load_state_dict({k: state[k].float() for k in expected})
    return features


def load_vgg16_features(weights: str, last_tap: str) -> nn.Sequential:
    """VGG16 ``features`` up to and including the ReLU named ``last_tap``, in eval mode."""
    needed = VGG16_TAPS[last_tap][0] + 1
    if weights == "random":
        log.warning("using randomly initialised VGG16 weights (tests only)")
        torch.manual_seed(0)
        features = vgg16(weights=None).features
    elif weights == "imagenet":
        features = _imagenet_features()
    else:
        features = _file_features(Path(weights), needed)
    features = features[:needed]
    for module in features:
        if isinstance(module, nn.ReLU):
            module.inplace = False  # the tapped activations must survive the next layer
    return features.eval().requires_grad_(False)


class VGGTaps(nn.Module):
    """Runs the truncated VGG16 base once and returns the activations at ``taps``, in order."""

    def __init__(self, weights: str, taps: Sequence[str]) -> None:
        super().__init__()
        unknown = [t for t in taps if t not in VGG16_TAPS]
        if unknown:
            raise ValueError(f"unknown VGG16 layer(s) {unknown}; known: {list(VGG16_TAPS)}")
        self.taps = sorted(taps, key=lambda t: VGG16_TAPS[t][0])
        self.features = load_vgg16_features(weights, self.taps[-1])
        self._tap_index = {VGG16_TAPS[t][0]: t for t in self.taps}

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in self._tap_index:
                outputs.append(x)
        return outputs
