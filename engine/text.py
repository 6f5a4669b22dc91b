"""Text that can be stored, logged and shown, whatever bytes a file name holds."""


def printable(text: str) -> str:
    """`text` with bytes that are not UTF-8 written as `\\xNN`.

    Python gives a file name that is not valid UTF-8 (a Latin-1 byte from a network share, say)
    as a string with surrogate escapes, which SQLite, JSON and UTF-8 log files refuse. Names of
    frames and sources go through here, so such a file is stored and reported under a faithful,
    readable name instead of stopping the run; the file itself is still read by its real path.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate that no file name produced
            return text.encode("utf-8", "backslashreplace").decode("utf-8")
        return raw.decode("utf-8", "backslashreplace")
    return text
