"""The wire format between the grader and its worker: frames of a JSON header and arrays.

A frame is a 4-byte big-endian length, a JSON object (the header), then the arrays the
header lists (``"arrays": [[name, nbytes], ...]``), each in .npy format written and
read with ``allow_pickle=False``. Both sides use this file; the worker imports it inside
the sandbox, so it needs only the standard library and numpy.

Whatever the worker sends is untrusted: ``Decoder`` checks every frame's structure and
sizes and raises ``BadFrame`` (a one-line reason) for anything else, never another
exception.
"""
import io
import json
import re
import struct

import numpy as np

MAX_HEADER_BYTES = 256 << 10     # the largest honest one (an MNIST case's request) is a few kB
MAX_ARRAY_BYTES = 8 << 20         # one frame's arrays; the largest honest one (an MNIST step) is ~0.3 MB
MAX_ARRAYS = 256                  # one frame's; the most an honest one holds is a few dozen


# C0 and C1 control characters but tab and newline (escape sequences that would move a
# terminal's cursor or retitle its window), and the bidirectional overrides and isolates
# that make text display in another order than it reads.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def text(value, limit):
    """A string from the worker made safe to print, store or show: control characters
    and lone surrogates replaced, at most ``limit`` characters."""
    value = str(value)[:limit]
    value = value.encode("utf-8", "replace").decode("utf-8")
    return _CONTROL.sub("\ufffd", value)


class BadFrame(Exception):
    """A frame that does not follow the format; the message is one line."""


def encode(header, arrays=()):
    """The bytes of one frame. ``arrays``: (name, ndarray) pairs, or a dict."""
    arrays = list(arrays.items()) if isinstance(arrays, dict) else list(arrays)
    blobs = []
    for _, array in arrays:
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
        blobs.append(buffer.getvalue())
    header = dict(header, arrays=[[name, len(blob)] for (name, _), blob in zip(arrays, blobs)])
    head = json.dumps(header).encode()
    return struct.pack(">I", len(head)) + head + b"".join(blobs)


class Decoder:
    """Splits a byte stream into (header dict, {name: ndarray}) frames."""

    def __init__(self, max_array_bytes=MAX_ARRAY_BYTES):
        self.buffer = bytearray()
        self.max_array_bytes = max_array_bytes
        self._pending = None          # (header, sizes, end) of a frame whose arrays are still coming

    def feed(self, data):
        """The frames completed by ``data``; raises BadFrame on a malformed one."""
        self.buffer += data
        frames = []
        while True:
            if self._pending is None:
                if len(self.buffer) < 4:
                    break
                (size,) = struct.unpack(">I", self.buffer[:4])
                if size > MAX_HEADER_BYTES:
                    raise BadFrame(f"a reply header of {size} bytes is too large")
                if len(self.buffer) < 4 + size:
                    break
                header, sizes = self._header(bytes(self.buffer[4:4 + size]))
                self._pending = (header, sizes, 4 + size + sum(n for _, n in sizes))
            header, sizes, end = self._pending
            if len(self.buffer) < end:
                break
            arrays, offset = {}, end - sum(n for _, n in sizes)
            for name, n in sizes:
                arrays[name] = _load_npy(bytes(self.buffer[offset:offset + n]))
                offset += n
            del self.buffer[:end]
            self._pending = None
            frames.append((header, arrays))
        return frames

    def _header(self, raw):
        try:
            header = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise BadFrame("a reply header is not JSON") from None
        if not isinstance(header, dict):
            raise BadFrame("a reply header is not a JSON object")
        listed = header.get("arrays", [])
        if not isinstance(listed, list) or not all(
                isinstance(e, list) and len(e) == 2 and isinstance(e[0], str)
                and type(e[1]) is int and e[1] >= 0 for e in listed):
            raise BadFrame("a reply lists its arrays wrongly")
        if len(listed) > MAX_ARRAYS:
            raise BadFrame(f"a reply lists {len(listed)} arrays, more than {MAX_ARRAYS}")
        sizes = [(name, n) for name, n in listed]
        if len({name for name, _ in sizes}) != len(sizes):
            raise BadFrame("a reply names an array twice")
        total = sum(n for _, n in sizes)
        if total > self.max_array_bytes:
            raise BadFrame(f"returned {total / 2**20:.0f} MB of arrays, more than the "
                           f"{self.max_array_bytes >> 20} MB a reply may hold")
        return header, sizes


def _load_npy(blob):
    """An array from .npy bytes; never unpickles (object arrays are refused)."""
    try:
        array = np.lib.format.read_array(io.BytesIO(blob), allow_pickle=False)
    except Exception:  # noqa: BLE001 - any malformed .npy is the same refusal
        raise BadFrame("a reply holds an array that is not valid .npy data") from None
    if type(array) is not np.ndarray:
        raise BadFrame("a reply holds something that is not a plain array")
    return array
