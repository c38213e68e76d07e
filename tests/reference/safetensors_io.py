"""Reads and writes the safetensors format with numpy only, and rounds float32
to bfloat16 the way PyTorch does (round to nearest, ties to even).

Layout written: an 8-byte little-endian header length N, N bytes of JSON
({"__metadata__": {...}, name: {"dtype", "shape", "data_offsets"}}), padded
with spaces so the data section starts 8-byte aligned, then every tensor's
bytes back to back in name order. Offsets are relative to the data section.
"""

import json
import struct

import numpy as np

# dtype tag -> (numpy storage dtype, bytes per element). BF16 is carried as
# its raw uint16 bit patterns: numpy has no bfloat16.
_DTYPES = {
    "F32": (np.dtype("<f4"), 4),
    "BF16": (np.dtype("<u2"), 2),
    "I32": (np.dtype("<i4"), 4),
}

_HEADER_ALIGN = 8


class StoredTensor:
    """One tensor as stored: its dtype tag and its raw little-endian array
    (uint16 bit patterns for BF16)."""

    def __init__(self, dtype, array):
        if dtype not in _DTYPES:
            raise ValueError(f"unsupported safetensors dtype {dtype!r}")
        storage = _DTYPES[dtype][0]
        if array.dtype != storage:
            raise ValueError(f"{dtype} tensor must be stored as {storage}, got {array.dtype}")
        self.dtype = dtype
        self.array = np.ascontiguousarray(array)

    def to_float64(self):
        if self.dtype == "BF16":
            return bf16_bits_to_f32(self.array).astype(np.float64)
        return self.array.astype(np.float64)


# ---------------------------------------------------------------- bfloat16

def f32_to_bf16_bits(values):
    """Rounds float32 values to bfloat16 with round-to-nearest-even on the
    uint32 bit pattern; returns the uint16 bits. Inputs must be finite and
    must not overflow to infinity after rounding."""
    values = np.ascontiguousarray(values, dtype=np.float32)
    if not np.all(np.isfinite(values)):
        raise ValueError("bf16 rounding: non-finite input")
    bits = values.view(np.uint32).astype(np.uint64)
    lsb = (bits >> np.uint64(16)) & np.uint64(1)
    rounded = (bits + np.uint64(0x7FFF) + lsb) >> np.uint64(16)
    out = rounded.astype(np.uint16)
    if not np.all(np.isfinite(bf16_bits_to_f32(out))):
        raise ValueError("bf16 rounding overflowed to infinity")
    return out


def bf16_bits_to_f32(bits):
    """Widens bfloat16 bit patterns to the float32 values they denote (exact)."""
    bits = np.ascontiguousarray(bits, dtype=np.uint16)
    return (bits.astype(np.uint32) << np.uint32(16)).view(np.float32)


# ---------------------------------------------------------------- writing

def serialize(tensors, metadata=None):
    """Returns the bytes of a safetensors file holding `tensors`
    (name -> StoredTensor), data laid out in name order."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = dict(metadata)
    offset = 0
    for name in sorted(tensors):
        if name == "__metadata__":
            raise ValueError("tensor name __metadata__ is reserved")
        tensor = tensors[name]
        size = tensor.array.nbytes
        header[name] = {
            "dtype": tensor.dtype,
            "shape": [int(d) for d in tensor.array.shape],
            "data_offsets": [offset, offset + size],
        }
        offset += size
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    pad = (-(8 + len(header_bytes))) % _HEADER_ALIGN
    header_bytes += b" " * pad
    parts = [struct.pack("<Q", len(header_bytes)), header_bytes]
    parts.extend(tensors[name].array.tobytes() for name in sorted(tensors))
    return b"".join(parts)


def write_file(path, tensors, metadata=None):
    with open(path, "wb") as f:
        f.write(serialize(tensors, metadata))


# ---------------------------------------------------------------- reading

def parse(blob, source="<bytes>"):
    """Parses safetensors bytes into name -> StoredTensor, checking that the
    offsets tile the data section exactly. Raises ValueError naming `source`."""
    if len(blob) < 8:
        raise ValueError(f"{source}: shorter than the 8-byte header length")
    (header_len,) = struct.unpack("<Q", blob[:8])
    if 8 + header_len > len(blob):
        raise ValueError(f"{source}: header length {header_len} exceeds file size {len(blob)}")
    header = json.loads(blob[8 : 8 + header_len].decode("utf-8"))
    data = memoryview(blob)[8 + header_len :]
    tensors = {}
    spans = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = entry["dtype"]
        if dtype not in _DTYPES:
            raise ValueError(f"{source}: tensor {name}: unsupported dtype {dtype}")
        storage, itemsize = _DTYPES[dtype]
        shape = tuple(entry["shape"])
        begin, end = entry["data_offsets"]
        count = int(np.prod(shape, dtype=np.int64))
        if end - begin != count * itemsize or end > len(data):
            raise ValueError(f"{source}: tensor {name}: offsets {begin}..{end} do not fit shape {shape} {dtype}")
        array = np.frombuffer(data[begin:end], dtype=storage).reshape(shape).copy()
        tensors[name] = StoredTensor(dtype, array)
        spans.append((begin, end, name))
    spans.sort()
    cursor = 0
    for begin, end, name in spans:
        if begin != cursor:
            raise ValueError(f"{source}: tensor {name} starts at {begin}, expected {cursor} (gap or overlap)")
        cursor = end
    if cursor != len(data):
        raise ValueError(f"{source}: data section has {len(data) - cursor} trailing bytes")
    return tensors


def read_file(path):
    with open(path, "rb") as f:
        return parse(f.read(), source=str(path))


def read_metadata(path):
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(header_len).decode("utf-8")).get("__metadata__")
