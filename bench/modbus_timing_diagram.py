"""Draw the PLC handshake's timing diagram from a real run, for docs/modbus.md.

    .venv/bin/python bench/modbus_timing_diagram.py [--bundle B] [--out PNG]

A station with the default bundle runs a software-trigger run on two sample parts (a good nut,
then a scratched one); the Modbus adapter serves the handshake; a pymodbus client plays a PLC
with a 10 ms scan through two cycles while a sampler reads every coil and discrete input about
every millisecond. The picture is those samples: the order and the spacing the adapter really
produced.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from pymodbus.client import ModbusTcpClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.line.modbus import ModbusAdapter, ModbusConfig  # noqa: E402
from engine.line.modbus_map import Coil, Discrete  # noqa: E402
from engine.recipes import Recipe, RecipeBook  # noqa: E402
from engine.recorder import open_store  # noqa: E402
from engine.station import Station  # noqa: E402

PLC_SIGNALS = [Coil.ENABLE, Coil.TRIGGER, Coil.RESULT_ACK]
STATION_SIGNALS = [
    Discrete.READY,
    Discrete.TRIGGER_ACK,
    Discrete.BUSY,
    Discrete.EXPOSURE_DONE,
    Discrete.RESULT_VALID,
    Discrete.OK,
    Discrete.NG,
]
TIMEOUT_S = 10.0
PLC_SCAN_S = 0.01  # a PLC sees and sets signals once per scan
PARTS = ("good_000.png", "scratch_003.png")


class Sampler:
    """Reads the coils and discrete inputs on its own connection, as fast as the server answers."""

    def __init__(self, port: int) -> None:
        self.client = ModbusTcpClient("127.0.0.1", port=port, timeout=2)
        assert self.client.connect()
        self.samples: list[tuple[float, list[bool], list[bool]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            coils = self.client.read_coils(0, count=len(Coil)).bits
            inputs = self.client.read_discrete_inputs(0, count=len(Discrete)).bits
            self.samples.append((time.perf_counter(), coils, inputs))
            time.sleep(0.0005)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(TIMEOUT_S)
        self.client.close()


def wait_for(client: ModbusTcpClient, bit: Discrete, value: bool = True) -> None:
    """Scan by scan until `bit` is `value`, then one more scan to act on it."""
    deadline = time.monotonic() + TIMEOUT_S
    while client.read_discrete_inputs(0, count=len(Discrete)).bits[bit] is not value:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{bit.name} did not become {value}")
        time.sleep(PLC_SCAN_S)
    time.sleep(PLC_SCAN_S)


def plc_cycle(client: ModbusTcpClient) -> None:
    """One handshake as docs/modbus.md describes it."""
    wait_for(client, Discrete.READY)
    client.write_coil(int(Coil.TRIGGER), True)
    wait_for(client, Discrete.TRIGGER_ACK)
    client.write_coil(int(Coil.TRIGGER), False)
    wait_for(client, Discrete.RESULT_VALID)  # and reads the result block in that scan
    client.write_coil(int(Coil.RESULT_ACK), True)
    wait_for(client, Discrete.RESULT_VALID, False)
    client.write_coil(int(Coil.RESULT_ACK), False)


def record(bundle: Path, scratch: Path) -> list[tuple[float, list[bool], list[bool]]]:
    store = open_store(scratch / "out")
    station = Station(store, provider="cpu")
    book = RecipeBook({"demo": Recipe("demo", str(bundle))})
    station.prepare(book.get("demo"), "timing diagram")
    adapter = ModbusAdapter(station, ModbusConfig(port=0), recipes=book)
    adapter.start()
    parts = scratch / "parts"
    parts.mkdir()
    for index, name in enumerate(PARTS):
        shutil.copy(ROOT / "assets" / "samples" / name, parts / f"{index}_{name}")
    run = threading.Thread(target=station.run, args=(str(parts), "software"), daemon=True)
    run.start()
    plc = ModbusTcpClient("127.0.0.1", port=adapter.port, timeout=2)
    assert plc.connect()
    sampler = Sampler(adapter.port)
    try:
        sampler.start()
        time.sleep(0.05)
        plc.write_coil(int(Coil.ENABLE), True)
        for _ in PARTS:
            plc_cycle(plc)
        time.sleep(0.05)
    finally:
        sampler.stop()
        plc.close()
        station.abort()
        run.join(TIMEOUT_S)
        adapter.close()
        store.close()
    return sampler.samples


def draw(samples: list[tuple[float, list[bool], list[bool]]], out: Path) -> None:
    start = samples[0][0]
    times = [(t - start) * 1000 for t, _, _ in samples]
    rows = [(f"PLC: {c.name}", lambda s, c=c: s[1][c]) for c in PLC_SIGNALS] + [
        (f"station: {d.name}", lambda s, d=d: s[2][d]) for d in STATION_SIGNALS
    ]
    fig, ax = plt.subplots(figsize=(11, 0.45 * len(rows) + 1.2))
    for row, (label, value) in enumerate(rows):
        base = (len(rows) - 1 - row) * 1.5
        levels = [base + 0.9 * value(s) for s in samples]
        colour = "#1f77b4" if label.startswith("PLC") else "#d62728"
        ax.step(times, levels, where="post", color=colour, linewidth=1.6)
        ax.text(-1, base + 0.3, label, ha="right", va="center", fontsize=9)
    ax.set_yticks([])
    ax.set_xlabel("time (ms), sampled over Modbus TCP about every millisecond")
    ax.set_title(
        "PLC handshake, two parts (OK, then NG), recorded from a real run (10 ms PLC scan)"
    )
    ax.set_xlim(0, times[-1])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out} from {len(samples)} samples over {times[-1]:.0f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "assets" / "default_bundle")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "modbus_handshake.png")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="modbus-timing-") as scratch:
        draw(record(args.bundle, Path(scratch)), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
