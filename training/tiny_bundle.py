"""A tiny but real model bundle built with the `onnx` package (no torch), for the engine, batch
and GUI tests and the benchmarks' quick runs. Its "models" are simple pixel rules, so tests know
what the verdict must be:

- segmentation: probability = sigmoid(40 * (channel mean - 0.7)): bright pixels are defects;
- anomaly: map = channel max, score = max of the map: any strongly saturated pixel is anomalous;
  global score = mean of the image.
"""

from pathlib import Path

import onnx
from onnx import TensorProto, helper

from engine.bundle import InputLimits, InputSpec, write_model

SIZE = 32
OPSET = 17
INPUT = InputSpec(
    name="image",
    width=SIZE,
    height=SIZE,
    color_order="RGB",
    scale=1 / 255,
    mean=(0.0, 0.0, 0.0),
    std=(1.0, 1.0, 1.0),
    resize="stretch",
)


def _image_input() -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, SIZE, SIZE])


def _const(name: str, value: float) -> onnx.NodeProto:
    return helper.make_node(
        "Constant", [], [name], value=helper.make_tensor(name, TensorProto.FLOAT, [], [value])
    )


def _save(graph: onnx.GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def segmentation_onnx(path: Path) -> Path:
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["grey"], axes=[1], keepdims=1),
        _const("offset", 0.7),
        _const("gain", 40.0),
        helper.make_node("Sub", ["grey", "offset"], ["centred"]),
        helper.make_node("Mul", ["centred", "gain"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["probability"]),
    ]
    output = helper.make_tensor_value_info(
        "probability", TensorProto.FLOAT, ["batch", 1, SIZE, SIZE]
    )
    return _save(helper.make_graph(nodes, "tiny_seg", [_image_input()], [output]), path)


def anomaly_onnx(path: Path) -> Path:
    nodes = [
        helper.make_node("ReduceMax", ["image"], ["anomaly_map"], axes=[1], keepdims=1),
        helper.make_node("ReduceMax", ["anomaly_map"], ["score"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("ReduceMean", ["image"], ["global_score"], axes=[1, 2, 3], keepdims=0),
    ]
    outputs = [
        helper.make_tensor_value_info("anomaly_map", TensorProto.FLOAT, ["batch", 1, SIZE, SIZE]),
        helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch"]),
        helper.make_tensor_value_info("global_score", TensorProto.FLOAT, ["batch"]),
    ]
    return _save(helper.make_graph(nodes, "tiny_anomaly", [_image_input()], outputs), path)


def make_tiny_bundle(
    bundle_dir: Path,
    segmentation: bool = True,
    anomaly: bool = True,
    input_limits: InputLimits | None = None,
) -> Path:
    """Write a bundle folder with the chosen tiny models and return its path.

    Without `input_limits` the bundle judges images of any size and kind, as old bundles do.
    """
    bundle_dir = Path(bundle_dir)
    bundle_dir.mkdir(parents=True, exist_ok=True)
    scratch = bundle_dir.parent / f".{bundle_dir.name}-build"
    scratch.mkdir(exist_ok=True)
    common = {"name": "tiny", "defect_types": ["scratch", "spot"], "input_limits": input_limits}
    if segmentation:
        write_model(
            bundle_dir,
            "segmentation",
            segmentation_onnx(scratch / "seg.onnx"),
            {
                "input": INPUT.to_manifest(),
                "output": {"name": "probability", "kind": "probability"},
                "pixel_threshold": 0.5,
                "min_defect_area_px": 4,
                "parity_max_abs_diff": 0.0,
            },
            **common,
        )
    if anomaly:
        write_model(
            bundle_dir,
            "anomaly",
            anomaly_onnx(scratch / "anomaly.onnx"),
            {
                "input": INPUT.to_manifest(),
                "outputs": {"map": "anomaly_map", "score": "score", "global_score": "global_score"},
                "score_meaning": "brightest channel value of any pixel, in [0, 1]",
                "image_threshold": 0.8,
                "calibration": {
                    "method": "fixed by construction",
                    "false_reject_rate": 0.0,
                    "n_images": 0,
                },
                "map_normalization": {"low": 0.5, "high": 1.0},
                "map_threshold": 0.8,
                "global_threshold": 0.9,
                "parity_max_abs_diff": 0.0,
            },
            **common,
        )
    return bundle_dir
