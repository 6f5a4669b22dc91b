"""The separate virtual environments the runtime benchmark needs, created on first use.

Neither runtime may go into the station's .venv: onnxruntime-openvino installs the same
`onnxruntime` package as the station's onnxruntime and would replace it, and anomalib pins its
own stack (lightning, timm, kornia...). Each environment is created once under the given root
(runs/bench_venvs/ by default, ignored by git) and reused while its package list is unchanged.

The anomalib environment reads the station's site-packages after its own (a .pth file): torch,
torchvision and numpy then come from .venv, so its PatchCore runs on the same torch build as the
torch-eager rows, and pip does not download a second torch. pip installs into the new
environment only; it never removes or changes a package outside it.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VenvSpec:
    name: str
    packages: tuple[str, ...]
    share_station_packages: bool  # see the module docstring


OPENVINO = VenvSpec("openvino", ("onnxruntime-openvino==1.24.1", "numpy"), False)
ANOMALIB = VenvSpec("anomalib", ("anomalib==2.7.0",), True)
MARKER = "bench-packages.txt"  # what was installed, so a changed spec rebuilds


class VenvError(RuntimeError):
    """A benchmark environment could not be created; the message names the log with pip's
    output."""


def venv_python(root: Path, spec: VenvSpec) -> Path:
    return root / spec.name / "bin" / "python"


def ensure_venv(root: Path, spec: VenvSpec) -> Path:
    """The python of the environment `spec` under `root`, created and installed if needed."""
    home = root / spec.name
    python = venv_python(root, spec)
    marker = home / MARKER
    wanted = "\n".join(spec.packages)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    home.parent.mkdir(parents=True, exist_ok=True)
    logfile = root / f"{spec.name}-install.log"
    log.info("creating %s (pip output in %s)", home, logfile)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    base = Path(sys.base_prefix) / "bin" / f"python{version}"
    with logfile.open("w") as out:
        _run([str(base), "-m", "venv", "--clear", str(home)], out, logfile)
        if spec.share_station_packages:
            purelib = subprocess.run(
                [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            station = sysconfig.get_paths()["purelib"]  # this (the station's) interpreter's
            Path(purelib, "zz_station_packages.pth").write_text(station + "\n")
        _run([str(python), "-m", "pip", "install", *spec.packages], out, logfile)
    marker.write_text(wanted)
    return python


def _run(command: list[str], out, logfile: Path) -> None:
    out.write("$ " + " ".join(command) + "\n")
    out.flush()
    done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise VenvError(f"`{' '.join(command[:4])} ...` failed ({done.returncode}); see {logfile}")
