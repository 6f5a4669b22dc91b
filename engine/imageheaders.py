"""What an image file's header says before it is decoded: format, size, PNG significant bits.

A few struct reads on the bytes, so that read_image can refuse a huge image before OpenCV
allocates it, check that a JPEG is complete, and learn what OpenCV's decoder drops (the PNG
sBIT chunk, which says how many bits of a 16-bit sample are real). A header this module cannot
make sense of gives no size, and the decoder then says what is wrong with the file.
"""

import struct
from collections.abc import Iterator
from dataclasses import dataclass

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"  # SOI and the first marker's prefix: what OpenCV checks too
JPEG_EOI = b"\xff\xd9"
_JPEG_SOS = 0xDA
# Start-of-frame markers carry the size; 0xC4 (DHT), 0xC8 (JPG) and 0xCC (DAC) share the range.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field (TEM, RSTn); anything else is followed by a 2-byte length.
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
# PNG colour type -> number of colour (not alpha) channels, which lead the sBIT chunk.
_PNG_COLOUR_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 1, 6: 3}
_TIFF_WIDTH, _TIFF_HEIGHT = 256, 257
_TIFF_FORMATS = {3: "H", 4: "I"}  # SHORT, LONG: the two types a TIFF size may have


@dataclass(frozen=True)
class Header:
    kind: str  # "png", "jpeg", "bmp", "tiff" or "" (any other format: the decoder decides)
    size: tuple[int, int] | None = None  # width, height, when the header gives them
    significant_bits: int | None = None  # PNG sBIT of a 16-bit image's colour channels, if < 16


def parse_header(data: bytes) -> Header:
    """The format and, where the header holds them cheaply, size and significant bits."""
    if data.startswith(PNG_SIGNATURE):
        return _png_header(data)
    if data.startswith(JPEG_SIGNATURE):
        return Header("jpeg", _jpeg_size(data))
    if data.startswith(b"BM"):
        return Header("bmp", _bmp_size(data))
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return Header("tiff", _tiff_size(data))
    return Header("")


def jpeg_is_complete(data: bytes) -> bool:
    """Whether an end-of-image marker follows the first scan.

    Inside entropy-coded data 0xFF is always followed by 0x00 or a restart marker, so 0xFFD9
    after the start of scan is the real end of the image, even with trailing bytes after it.
    An EXIF thumbnail's own EOI comes before the scan and does not count. Without it the file
    was cut short, which libjpeg would pad with grey and report only on stderr. Searched from
    the end, where the marker is, because scan data is full of 0xFF bytes (4 us, not 100 us).
    """
    scan = next((pos for marker, pos, _ in _jpeg_segments(data) if marker == _JPEG_SOS), None)
    return scan is not None and data.rfind(JPEG_EOI, scan) != -1


def _png_header(data: bytes) -> Header:
    """IHDR gives the size; sBIT, if it comes before the image data, the significant bits."""
    chunks = _png_chunks(data)
    first = next(chunks, None)
    if first is None or first[0] != b"IHDR" or len(first[1]) < 10:
        return Header("png")
    width, height, depth, colour_type = struct.unpack(">IIBB", first[1][:10])
    bits = None
    for name, body in chunks:
        if name in (b"IDAT", b"IEND"):
            break
        if name == b"sBIT" and depth == 16 and colour_type in _PNG_COLOUR_CHANNELS:
            declared = max(body[: _PNG_COLOUR_CHANNELS[colour_type]], default=16)
            bits = declared if 0 < declared < 16 else None
    return Header("png", (width, height), bits)


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(type, body) of each chunk that fits in the data, from the first."""
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, name = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if len(body) < length:
            return
        yield name, body
        pos += 12 + length  # length, type, body, CRC


def _jpeg_segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(marker, offset, length) of each marker segment up to and including the first SOS."""
    pos = 2  # after SOI
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return  # not a marker where one must be: leave the diagnosis to libjpeg
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker in _JPEG_STANDALONE:
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        yield marker, pos, length
        if marker == _JPEG_SOS:
            return
        pos += 2 + length


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    for marker, pos, length in _jpeg_segments(data):
        if marker in _JPEG_SOF and length >= 7 and pos + 9 <= len(data):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return (width, height) if width and height else None  # height 0: set later by DNL
    return None


def _bmp_size(data: bytes) -> tuple[int, int] | None:
    """BITMAPCOREHEADER (12 bytes) has 16-bit sizes; later headers signed 32-bit ones."""
    if len(data) < 26:
        return None
    (header_size,) = struct.unpack("<I", data[14:18])
    if header_size == 12:
        return struct.unpack("<HH", data[18:22])
    width, height = struct.unpack("<ii", data[18:26])
    return abs(width), abs(height)  # a negative height means rows stored top-down


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    """ImageWidth and ImageLength of the first image file directory."""
    order = "<" if data[:2] == b"II" else ">"
    if len(data) < 8:
        return None
    (offset,) = struct.unpack(order + "I", data[4:8])
    if offset + 2 > len(data):
        return None
    (count,) = struct.unpack(order + "H", data[offset : offset + 2])
    found: dict[int, int] = {}
    for start in range(offset + 2, min(offset + 2 + 12 * count, len(data) - 11), 12):
        tag, kind = struct.unpack(order + "HH", data[start : start + 4])
        if tag in (_TIFF_WIDTH, _TIFF_HEIGHT) and kind in _TIFF_FORMATS:
            (found[tag],) = struct.unpack_from(order + _TIFF_FORMATS[kind], data, start + 8)
    if _TIFF_WIDTH in found and _TIFF_HEIGHT in found:
        return found[_TIFF_WIDTH], found[_TIFF_HEIGHT]
    return None
