"""The Inspector on a tiny real bundle: verdicts, regions, thresholds, input formats."""

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.bundle import load_bundle
from engine.imageio import ImageReadError
from engine.inspector import Inspector, decide
from engine.providers import PREFERENCE, ProviderError, choose_providers
from engine.result import Verdict


@pytest.fixture()
def inspector(tiny_bundle: Path) -> Inspector:
    return Inspector(load_bundle(tiny_bundle))


def _part(height: int = 120, width: int = 160) -> np.ndarray:
    return np.full((height, width, 3), 90, np.uint8)


def _with_defect(image: np.ndarray, centre=(60, 50), radius=15) -> np.ndarray:
    image = image.copy()
    cv2.circle(image, centre, radius, (250, 250, 250), -1)
    return image


def test_clean_part_is_ok(inspector: Inspector) -> None:
    result = inspector.inspect(_part())
    assert result.verdict == Verdict.OK
    assert result.reasons == [] and result.regions == []
    assert result.anomaly_score == pytest.approx(90 / 255, abs=0.01)
    assert result.global_score == pytest.approx(90 / 255, abs=0.01)


def test_defect_is_ng_and_outlined_at_the_image_resolution(inspector: Inspector) -> None:
    result = inspector.inspect(_with_defect(_part()))
    assert result.verdict == Verdict.NG
    assert result.mask.shape == (120, 160) and result.anomaly_map.shape == (120, 160)
    seg = [r for r in result.regions if r.source == "segmentation"]
    assert len(seg) == 1
    x, y, w, h = seg[0].bbox
    assert abs(x + w / 2 - 60) <= 4 and abs(y + h / 2 - 50) <= 4
    assert seg[0].area_px == pytest.approx(np.pi * 15**2, rel=0.35)
    assert any(r.source == "anomaly" for r in result.regions)
    assert len(result.reasons) == 2


def test_every_stage_is_timed(inspector: Inspector, tmp_path: Path) -> None:
    path = tmp_path / "part.png"
    cv2.imwrite(str(path), _part())
    result = inspector.inspect_file(path)
    assert set(result.timings_ms) == {
        "decode",
        "preprocess",
        "segmentation",
        "anomaly",
        "postprocess",
    }
    assert all(t >= 0 for t in result.timings_ms.values())


def test_min_area_filters_small_regions(inspector: Inspector) -> None:
    result = inspector.inspect(_with_defect(_part(), radius=3))
    assert any(r.source == "segmentation" for r in result.regions)
    strict = dataclasses.replace(inspector.thresholds, min_defect_area_px=500, image_threshold=2.0)
    redecided = decide(result, strict)
    assert redecided.regions == [] and redecided.verdict == Verdict.OK
    assert not redecided.mask.any()


def test_raising_the_thresholds_turns_ng_into_ok_without_rerunning(inspector: Inspector) -> None:
    result = inspector.inspect(_with_defect(_part()))
    lenient = dataclasses.replace(inspector.thresholds, pixel_threshold=1.01, image_threshold=1.5)
    assert decide(result, lenient).verdict == Verdict.OK
    assert decide(decide(result, lenient), inspector.thresholds).verdict == Verdict.NG


@pytest.mark.parametrize(
    "convert",
    [
        lambda im: cv2.cvtColor(im, cv2.COLOR_BGR2GRAY),
        lambda im: cv2.cvtColor(im, cv2.COLOR_BGR2BGRA),
        lambda im: im.astype(np.uint16) * 257,
        lambda im: cv2.cvtColor(im, cv2.COLOR_BGR2GRAY)[:, :, None],
    ],
    ids=["grey", "bgra", "16bit", "grey-3d"],
)
def test_input_formats_give_the_same_verdict(inspector: Inspector, convert) -> None:
    assert inspector.inspect(convert(_part())).verdict == Verdict.OK
    assert inspector.inspect(convert(_with_defect(_part()))).verdict == Verdict.NG


def test_sixteen_bit_png_from_disk(inspector: Inspector, tmp_path: Path) -> None:
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), _with_defect(_part()).astype(np.uint16) * 257)
    assert inspector.inspect_file(path).verdict == Verdict.NG


def test_unreadable_file_names_the_file(inspector: Inspector, tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ImageReadError, match=r"broken.png: not a readable image"):
        inspector.inspect_file(bad)


def test_single_model_bundles(tmp_path: Path) -> None:
    from training.tiny_bundle import make_tiny_bundle

    seg_only = Inspector(load_bundle(make_tiny_bundle(tmp_path / "s", anomaly=False)))
    result = seg_only.inspect(_with_defect(_part()))
    assert result.verdict == Verdict.NG and result.anomaly_score is None and result.heat is None
    ano_only = Inspector(load_bundle(make_tiny_bundle(tmp_path / "a", segmentation=False)))
    result = ano_only.inspect(_with_defect(_part()))
    assert result.verdict == Verdict.NG and result.mask is None
    assert {r.source for r in result.regions} == {"anomaly"}


def test_providers_really_in_use_are_reported(inspector: Inspector) -> None:
    import onnxruntime as ort

    # a session of the same model opened with the same request uses these providers
    for role in ("segmentation", "anomaly"):
        session = ort.InferenceSession(
            inspector.bundle.model_bytes[role], providers=choose_providers()
        )
        assert inspector.providers[role] == session.get_providers(), role
    first = inspector.providers["segmentation"][0]
    assert inspector.main_provider == first.removesuffix("ExecutionProvider")


@pytest.mark.filterwarnings("ignore:Specified provider:UserWarning")
def test_a_provider_onnxruntime_falls_back_from_is_not_reported(
    monkeypatch: pytest.MonkeyPatch, tiny_bundle: Path
) -> None:
    """onnxruntime quietly drops a requested provider it cannot use: the report shows what the
    sessions run on, not what was asked for."""
    import onnxruntime as ort

    import engine.inspector

    missing = [p for p in PREFERENCE if p not in ort.get_available_providers()]
    if not missing:
        pytest.skip("this onnxruntime has every provider; nothing to fall back from")
    asked = [missing[0], "CPUExecutionProvider"]
    monkeypatch.setattr(engine.inspector, "choose_providers", lambda override=None: asked)
    inspector = Inspector(load_bundle(tiny_bundle))
    assert inspector.providers == {
        "segmentation": ["CPUExecutionProvider"],
        "anomaly": ["CPUExecutionProvider"],
    }
    assert inspector.main_provider == "CPU"


def test_provider_override(monkeypatch: pytest.MonkeyPatch, tiny_bundle: Path) -> None:
    assert choose_providers("cpu") == ["CPUExecutionProvider"]
    monkeypatch.setenv("STATION_PROVIDER", "cpu")
    assert choose_providers() == ["CPUExecutionProvider"]
    with pytest.raises(ProviderError, match=r"unknown execution provider 'tpu'"):
        choose_providers("tpu")
    monkeypatch.setenv("STATION_PROVIDER", "tpu")
    with pytest.raises(ProviderError):
        Inspector(load_bundle(tiny_bundle))


def test_cuda_request_without_cuda_is_a_clear_error() -> None:
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has CUDA; the error path needs a CPU-only build")
    with pytest.raises(ProviderError, match=r"install onnxruntime-gpu"):
        choose_providers("cuda")


def test_specks_below_the_minimum_area_are_erased_and_large_regions_kept() -> None:
    from engine.inspector import _regions

    mask = np.zeros((300, 300), bool)
    mask[::7, ::7] = True  # single-pixel specks on a grid
    mask[100:150, 51:250] = True  # no speck touches it
    kept, regions = _regions(mask, 20, "segmentation")
    assert [r.bbox for r in regions] == [(51, 100, 199, 50)]
    assert kept.sum() == regions[0].area_px == 199 * 50


def test_check_session_io_compares_a_session_with_its_manifest_entry(tiny_bundle: Path) -> None:
    import onnxruntime as ort

    from engine.bundle import BundleError
    from engine.inspector import check_session_io

    bundle = load_bundle(tiny_bundle)
    cpu = ["CPUExecutionProvider"]
    session = ort.InferenceSession(bundle.model_bytes["anomaly"], providers=cpu)
    spec = bundle.anomaly.input
    check_session_io(session, "anomaly", spec, ["anomaly_map", "score"], "a.onnx")
    with pytest.raises(BundleError, match=r"^a.onnx: models.anomaly output 'heat' is not in"):
        check_session_io(session, "anomaly", spec, ["heat"], "a.onnx")
    with pytest.raises(BundleError, match=r"'models.anomaly.input.width' is 64 but the ONNX"):
        check_session_io(session, "anomaly", dataclasses.replace(spec, width=64), [], "a.onnx")
