"""Images and masks for U-Net training, with the augmentation a real inspection camera needs.

Images are resized once to the model input size with the engine's own resize, then augmented
at that size (cheap on a 2-core CPU), then normalised by `engine.preprocess.to_model_input`,
the function the station runs, so training and inspection cannot disagree on the input block.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from engine.bundle import InputSpec
from engine.imageio import read_image, to_bgr8
from engine.preprocess import resize_stretch, to_model_input
from training.mvtec import DatasetError, Sample

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def input_spec(size: int, name: str = "image") -> InputSpec:
    """The model input block: RGB, [0, 1] scaling, ImageNet mean/std, square stretch resize."""
    return InputSpec(
        name=name,
        width=size,
        height=size,
        color_order="RGB",
        scale=1 / 255,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        resize="stretch",
    )


@dataclass(frozen=True)
class AugmentConfig:
    """Random changes applied to each training image; the defaults suit parts on a turntable.

    `mirror_prob` is off by default: mirroring changes a part's handedness, and for parts such
    as metal nuts an upside-down ("flip") part has exactly the mirrored outline, so a mirrored
    good image tells the model that a flipped outline can be good. Rotations keep handedness.
    """

    rotate: bool = True  # any angle: parts lie at any rotation
    mirror_prob: float = 0.0
    shift: float = 0.04  # max translation, fraction of the size: placement jitter
    scale: float = 0.05  # max relative zoom: small changes of working distance
    brightness: float = 0.15  # max offset, fraction of full scale
    contrast: float = 0.15  # max relative gain around the mean
    channel_gain: float = 0.05  # max per-channel gain: white-balance drift
    noise_std: float = 3.0  # max sensor noise, in 8-bit grey levels
    blur_prob: float = 0.2  # chance of a slight defocus


def augment(
    image: np.ndarray, mask: np.ndarray, config: AugmentConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Geometric changes to image and mask together, then photometric changes to the image.

    `image` is BGR uint8, `mask` float32 in [0, 1]; both keep their size.
    """
    height, width = mask.shape
    if rng.random() < config.mirror_prob:
        image, mask = image[:, ::-1], mask[:, ::-1]
    angle = rng.uniform(0, 360) if config.rotate else 0.0
    zoom = 1 + rng.uniform(-config.scale, config.scale)
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, zoom)
    matrix[:, 2] += rng.uniform(-config.shift, config.shift, 2) * (width, height)
    image = cv2.warpAffine(
        image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )
    mask = cv2.warpAffine(
        np.ascontiguousarray(mask),
        matrix,
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT_101,
    )

    pixels = image.astype(np.float32)
    mean = pixels.mean()
    gain = 1 + rng.uniform(-config.contrast, config.contrast)
    offset = rng.uniform(-config.brightness, config.brightness) * 255
    channels = 1 + rng.uniform(-config.channel_gain, config.channel_gain, 3)
    pixels = ((pixels - mean) * gain + mean + offset) * channels
    if config.noise_std > 0:
        pixels += rng.normal(0, rng.uniform(0, config.noise_std), pixels.shape)
    image = np.clip(pixels, 0, 255).astype(np.uint8)
    if rng.random() < config.blur_prob:
        image = cv2.GaussianBlur(image, (0, 0), sigmaX=rng.uniform(0.3, 1.0))
    return image, mask


def truth_mask(sample: Sample, shape: tuple[int, int]) -> np.ndarray:
    """Ground-truth defect mask (bool) at the image's own resolution; all False for good images.

    Raises DatasetError naming the mask file when its size differs from `shape`.
    """
    if sample.mask is None:
        return np.zeros(shape, bool)
    mask = read_image(sample.mask)
    mask = (mask.max(axis=2) if mask.ndim == 3 else mask) > 0
    if mask.shape != tuple(shape):
        raise DatasetError(f"{sample.mask}: mask is {mask.shape}, image is {tuple(shape)}")
    return mask


def load_pair(sample: Sample, spec: InputSpec) -> tuple[np.ndarray, np.ndarray]:
    """Image (BGR uint8) and mask (float32 in [0, 1], area-averaged) at the model input size."""
    image = read_image(sample.image)
    height, width = image.shape[:2]
    resized = resize_stretch(to_bgr8(image), spec.width, spec.height)
    mask = truth_mask(sample, (height, width)).astype(np.float32)
    return resized, resize_stretch(mask, spec.width, spec.height)


def random_crop(
    image: np.ndarray, mask: np.ndarray, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A `size` square of image and mask; half the time centred (as far as the border allows)
    on a random defect pixel, so small defects are seen often enough to be learnt."""
    height, width = mask.shape
    defect = np.argwhere(mask >= 0.5)
    if len(defect) and rng.random() < 0.5:
        cy, cx = defect[rng.integers(len(defect))]
        top, left = cy - size // 2, cx - size // 2
    else:
        top, left = rng.integers(0, height - size + 1), rng.integers(0, width - size + 1)
    top, left = int(np.clip(top, 0, height - size)), int(np.clip(left, 0, width - size))
    return image[top : top + size, left : left + size], mask[top : top + size, left : left + size]


class SegmentationDataset(Dataset):
    """(input tensor [3, H, W], binary target [1, H, W]) pairs, held in memory at model size.

    Augmentation is drawn from a generator seeded by (seed, epoch, index), so a run, a resumed
    run and any number of loader workers produce the same images. With `crop`, training
    pairs are random `crop`-pixel squares of the augmented image (the U-Net is fully
    convolutional, so it then runs on whole images unchanged).
    """

    def __init__(
        self,
        samples: list[Sample],
        spec: InputSpec,
        augment_config: AugmentConfig | None = None,
        seed: int = 0,
        crop: int = 0,
    ) -> None:
        if crop and not 0 < crop <= min(spec.width, spec.height):
            raise ValueError(f"crop {crop} must be between 1 and the input size {spec.width}")
        self.samples = samples
        self.spec = spec
        self.augment_config = augment_config
        self.seed = seed
        self.epoch = 0
        self.crop = crop
        self._out_spec = dataclasses.replace(spec, width=crop, height=crop) if crop else spec
        self._pairs = [load_pair(s, spec) for s in samples]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, mask = self._pairs[index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        if self.augment_config is not None:
            image, mask = augment(image, mask, self.augment_config, rng)
        if self.crop:
            image, mask = random_crop(image, mask, self.crop, rng)
        # the crop already has the output size, so this only converts colour and normalises
        tensor = torch.from_numpy(to_model_input(image, self._out_spec)[0])
        target = torch.from_numpy((mask >= 0.5).astype(np.float32))[None]
        return tensor, target


def epoch_indices(samples: list[Sample], good_ratio: float, seed: int, epoch: int) -> list[int]:
    """One epoch's sample order: every defective image, plus good images drawn at random.

    Good images far outnumber defective ones; `good_ratio` good images per defective image
    (without replacement, all of them if there are fewer) keeps epochs short while every epoch
    still shows the model what a good part looks like.
    """
    rng = np.random.default_rng([seed, epoch, 1])
    defective = [i for i, s in enumerate(samples) if not s.is_good]
    good = [i for i, s in enumerate(samples) if s.is_good]
    n_good = min(len(good), math.ceil(good_ratio * max(len(defective), 1)))
    chosen = defective + [good[i] for i in rng.choice(len(good), n_good, replace=False)]
    return [chosen[i] for i in rng.permutation(len(chosen))]
