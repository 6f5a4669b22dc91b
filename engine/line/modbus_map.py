"""The station's Modbus TCP register and coil map: one table that the adapter
(`engine.line.modbus`), the docs (`docs/modbus.md`) and `station serve --modbus-map` share.

The four Modbus tables keep "who writes it" in the protocol itself: the PLC writes coils and
holding registers; the station writes discrete inputs and input registers, which no Modbus
function can write. Addresses are the 0-based protocol addresses a client sends (the PLC's
1-based "Modicon" numbers are printed beside them: coil 0 is 00001, discrete input 0 is 10001,
input register 0 is 30001, holding register 0 is 40001).

Encodings (big-endian, Modbus's own byte order):
- uint32 and float32 take two registers, the high word first ("ABCD");
- a float32 with no value (no anomaly model) is NaN;
- ascii[32] is 16 registers, two characters each, the first in the high byte, padded with NUL
  (trailing NULs and spaces are dropped when read).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from engine.vision_states import VisionState

PART_ID_REGISTERS = 16  # 32 ASCII characters
PART_ID_CHARS = 2 * PART_ID_REGISTERS


class Table(StrEnum):
    COIL = "coil"
    DISCRETE_INPUT = "discrete input"
    HOLDING_REGISTER = "holding register"
    INPUT_REGISTER = "input register"

    @property
    def modicon_base(self) -> int:
        return {"coil": 1, "discrete input": 10001, "input register": 30001}.get(self, 40001)

    @property
    def writer(self) -> str:
        return "PLC" if self in (Table.COIL, Table.HOLDING_REGISTER) else "station"


class Coil(IntEnum):
    """Written by the PLC (functions 1, 5, 15)."""

    ENABLE = 0
    TRIGGER = 1
    RESULT_ACK = 2
    RESET = 3


class Discrete(IntEnum):
    """Written by the station (function 2); also packed into StatusWord, bit n = input n."""

    READY = 0
    TRIGGER_ACK = 1
    BUSY = 2
    EXPOSURE_DONE = 3
    RESULT_VALID = 4
    OK = 5
    NG = 6
    MISSED_TRIGGER = 7
    RESULT_OVERRUN = 8
    ERROR = 9
    RUNNING = 10


class Holding(IntEnum):
    """Written by the PLC (functions 3, 6, 16)."""

    RECIPE_NUMBER = 0
    PART_ID = 1  # 16 registers


class Input(IntEnum):
    """Written by the station (function 4). The result block starts at RESULT_ID."""

    STATUS_WORD = 0
    HEARTBEAT = 1
    STATION_STATE = 2
    FAULT_CODE = 3
    ACTIVE_RECIPE = 4
    BUFFERED_RESULTS = 5
    MISSED_TRIGGERS = 6
    DISCARDED_RESULTS = 7
    LATE_RESULTS = 8
    TRIGGER_ID = 9  # uint32
    RESULT_ID = 11  # uint32
    RESULT_TRIGGER_ID = 13  # uint32
    VERDICT = 15
    ERROR_CODE = 16
    SCORE = 17  # float32
    THRESHOLD = 19  # float32
    DEFECT_COUNT = 21
    LATENCY_MS = 22  # float32
    RESULT_PART_ID = 24  # 16 registers


class Verdict(IntEnum):
    NONE = 0
    OK = 1
    NG = 2
    ERROR = 3  # not judged: the NG bit is set too (a part is passed only when judged OK)


class Code(IntEnum):
    """ErrorCode (per result) and FaultCode (station) values."""

    NONE = 0
    INSPECTION_FAILED = 1
    NOT_STORED = 2
    TIMEOUT = 3
    TRIGGER_DROPPED = 4
    RECIPE_UNKNOWN = 5
    RECIPE_LOAD_FAILED = 6
    STATION_ERROR = 10
    RESET_REFUSED = 11


CODE_MEANINGS: dict[Code, str] = {
    Code.NONE: "no error",
    Code.INSPECTION_FAILED: "verdict ERROR: no frame within trigger_timeout_s, an unreadable "
    "image, a failed inspection or the camera lost during the part (NG is set)",
    Code.NOT_STORED: "inspected, but the result row could not be written (ResultId 0)",
    Code.TIMEOUT: "no result within the recipe's time budget: NG, never OK; the late result "
    "is stored but not presented (LateResults counts it)",
    Code.TRIGGER_DROPPED: "the trigger was taken but the part never came: the source had no "
    "more frames or the run ended (NG; counted as a missed trigger)",
    Code.RECIPE_UNKNOWN: "RecipeNumber maps to no recipe: not inspected, NG, old recipe kept",
    Code.RECIPE_LOAD_FAILED: "the recipe's bundle could not be loaded: not inspected, NG, old "
    "recipe kept",
    Code.STATION_ERROR: "FaultCode: the station is in Error (its source dropped out); Reset",
    Code.RESET_REFUSED: "FaultCode: Reset refused while a run is on (the station reconnects by "
    "itself, or stop the run)",
}

STATE_CODES: dict[VisionState, int] = {
    VisionState.PREOPERATIONAL: 1,
    VisionState.INITIALIZED: 2,
    VisionState.READY: 3,
    VisionState.SINGLE_EXECUTION: 4,
    VisionState.CONTINUOUS_EXECUTION: 5,
    VisionState.HALTED: 6,
    VisionState.ERROR: 7,
}


@dataclass(frozen=True)
class Point:
    table: Table
    address: int  # 0-based protocol address of the first register or bit
    name: str
    kind: str  # bool, uint16, uint32, float32, ascii[32]
    meaning: str

    @property
    def words(self) -> int:
        return {"uint32": 2, "float32": 2, "ascii[32]": PART_ID_REGISTERS}.get(self.kind, 1)

    @property
    def span(self) -> str:
        """'5' or '24-39': the addresses the point takes."""
        last = self.address + self.words - 1
        return str(self.address) if last == self.address else f"{self.address}-{last}"

    @property
    def modicon(self) -> str:
        first = self.table.modicon_base + self.address
        last = first + self.words - 1
        return f"{first:05d}" if last == first else f"{first:05d}-{last:05d}"


C, D, H, R = Table.COIL, Table.DISCRETE_INPUT, Table.HOLDING_REGISTER, Table.INPUT_REGISTER

POINTS: tuple[Point, ...] = (
    Point(C, Coil.ENABLE, "Enable", "bool", "PLC allows triggers; Ready needs it"),
    Point(C, Coil.TRIGGER, "Trigger", "bool", "rising edge: inspect one part (only while Ready)"),
    Point(C, Coil.RESULT_ACK, "ResultAck", "bool", "rising edge: result read; falling: next one"),
    Point(C, Coil.RESET, "Reset", "bool", "rising edge: clear flags; Error/Halted -> Reset"),
    Point(D, Discrete.READY, "Ready", "bool", "the next trigger will be taken"),
    Point(D, Discrete.TRIGGER_ACK, "TriggerAck", "bool", "trigger taken; clears with Trigger"),
    Point(D, Discrete.BUSY, "Busy", "bool", "a PLC trigger is being worked on"),
    Point(D, Discrete.EXPOSURE_DONE, "ExposureDone", "bool", "image taken: the part may move"),
    Point(D, Discrete.RESULT_VALID, "ResultValid", "bool", "the result block holds a result"),
    Point(D, Discrete.OK, "OK", "bool", "presented result judged OK"),
    Point(D, Discrete.NG, "NG", "bool", "presented result NG, ERROR or timed out: reject"),
    Point(
        D,
        Discrete.MISSED_TRIGGER,
        "MissedTrigger",
        "bool",
        "a trigger was not taken (clears at the next one taken, or Reset)",
    ),
    Point(
        D,
        Discrete.RESULT_OVERRUN,
        "ResultOverrun",
        "bool",
        "a result was discarded: the buffer was full (latched until Reset)",
    ),
    Point(D, Discrete.ERROR, "Error", "bool", "station in Error (FaultCode); clear by Reset"),
    Point(D, Discrete.RUNNING, "Running", "bool", "a run is on (any trigger mode)"),
    Point(
        H,
        Holding.RECIPE_NUMBER,
        "RecipeNumber",
        "uint16",
        "recipe for the next trigger; 0 keeps the active one",
    ),
    Point(H, Holding.PART_ID, "PartId", "ascii[32]", "part id of the next trigger (stored)"),
    Point(R, Input.STATUS_WORD, "StatusWord", "uint16", "discrete inputs 0-15 as bits"),
    Point(R, Input.HEARTBEAT, "Heartbeat", "uint16", "+1 every heartbeat_s; wraps"),
    Point(
        R,
        Input.STATION_STATE,
        "StationState",
        "uint16",
        "1 Preoperational, 2 Initialized, "
        "3 Ready, 4 SingleExecution, 5 ContinuousExecution, 6 Halted, 7 Error",
    ),
    Point(R, Input.FAULT_CODE, "FaultCode", "uint16", "station fault: 0, 10 or 11"),
    Point(R, Input.ACTIVE_RECIPE, "ActiveRecipeNumber", "uint16", "0: not in the numbering"),
    Point(
        R,
        Input.BUFFERED_RESULTS,
        "BufferedResults",
        "uint16",
        "results waiting, the presented one included",
    ),
    Point(R, Input.MISSED_TRIGGERS, "MissedTriggers", "uint16", "PLC triggers not taken"),
    Point(R, Input.DISCARDED_RESULTS, "DiscardedResults", "uint16", "results lost to overrun"),
    Point(R, Input.LATE_RESULTS, "LateResults", "uint16", "results after their timeout"),
    Point(R, Input.TRIGGER_ID, "TriggerId", "uint32", "id of the last trigger taken"),
    Point(R, Input.RESULT_ID, "ResultId", "uint32", "store row id; 0 = nothing stored"),
    Point(
        R,
        Input.RESULT_TRIGGER_ID,
        "ResultTriggerId",
        "uint32",
        "TriggerId this result answers; 0 = not a PLC trigger",
    ),
    Point(R, Input.VERDICT, "Verdict", "uint16", "1 OK, 2 NG, 3 ERROR"),
    Point(R, Input.ERROR_CODE, "ErrorCode", "uint16", "why (see the error codes)"),
    Point(R, Input.SCORE, "Score", "float32", "anomaly score; NaN when none"),
    Point(R, Input.THRESHOLD, "Threshold", "float32", "the score's limit; NaN when none"),
    Point(R, Input.DEFECT_COUNT, "DefectCount", "uint16", "defect regions found"),
    Point(R, Input.LATENCY_MS, "LatencyMs", "float32", "trigger to result stored, core's"),
    Point(R, Input.RESULT_PART_ID, "ResultPartId", "ascii[32]", "the part id, echoed"),
)


def table_size(table: Table) -> int:
    """Bits or registers in `table`: every address up to the last point's is readable."""
    return max(p.address + p.words for p in POINTS if p.table is table)


def modbus_map_text() -> str:
    """The map as a plain table (what `station serve --modbus-map` prints)."""
    rows = [("table", "address", "modicon", "type", "name", "writer", "meaning")]
    rows += [
        (p.table.value, p.span, p.modicon, p.kind, p.name, p.table.writer, p.meaning)
        for p in POINTS
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        + "  "
        + row[-1]
        for row in rows
    ]
    codes = [f"  {int(code):>2}  {code.name:<18} {CODE_MEANINGS[code]}" for code in Code]
    return "\n".join(
        [
            "Modbus TCP map (0-based protocol addresses; modicon = the PLC's 1-based numbers).",
            "uint32/float32: two registers, high word first; ascii[32]: 16 registers, "
            "high byte first, NUL-padded.",
            "",
            *lines,
            "",
            "ErrorCode / FaultCode:",
            *codes,
        ]
    )


# --- encodings ------------------------------------------------------------------------------


def uint32_words(value: int) -> list[int]:
    value &= 0xFFFFFFFF
    return [value >> 16, value & 0xFFFF]


def float32_words(value: float | None) -> list[int]:
    number = math.nan if value is None else float(value)
    high, low = struct.unpack(">HH", struct.pack(">f", number))
    return [high, low]


def ascii_words(text: str | None, registers: int = PART_ID_REGISTERS) -> list[int]:
    """`text` as ASCII (anything else becomes '?'), cut to fit, NUL-padded."""
    data = (text or "").encode("ascii", errors="replace")[: 2 * registers]
    data = data.ljust(2 * registers, b"\0")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def words_ascii(words: list[int]) -> str | None:
    """The text of ascii registers; None when empty. Bytes that are not ASCII read as '?'."""
    data = b"".join((word & 0xFFFF).to_bytes(2, "big") for word in words)
    text = data.split(b"\0", 1)[0].decode("ascii", errors="replace").replace("\ufffd", "?")
    return text.strip() or None
