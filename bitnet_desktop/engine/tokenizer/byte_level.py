"""GPT-2 byte <-> unicode mapping used by byte-level BPE vocabularies (Llama-3, BitNet-b1.58-2B-4T).

Byte-level BPE never sees raw bytes: every byte 0..255 is first replaced by one printable unicode character
(printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100.. in byte order), so that
token strings in the vocabulary are printable text. A space (0x20) becomes "Ġ" (U+0120), a newline "Ċ".
"""

from __future__ import annotations


def _build_byte_to_unicode() -> tuple[str, ...]:
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    mapping: dict[int, str] = {b: chr(b) for b in printable}
    next_code_point = 256
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(next_code_point)
            next_code_point += 1
    return tuple(mapping[b] for b in range(256))


# BYTE_TO_UNICODE[b] is the character that stands for byte b inside vocabulary strings.
BYTE_TO_UNICODE: tuple[str, ...] = _build_byte_to_unicode()
UNICODE_TO_BYTE: dict[str, int] = {ch: b for b, ch in enumerate(BYTE_TO_UNICODE)}

# str.translate table from Latin-1-decoded bytes (code points 0..255) to the byte-level alphabet.
_LATIN1_TO_BYTE_LEVEL = {b: ch for b, ch in enumerate(BYTE_TO_UNICODE)}


def bytes_to_byte_level(data: bytes) -> str:
    """Map raw bytes to the byte-level alphabet, one character per byte."""
    return data.decode("latin-1").translate(_LATIN1_TO_BYTE_LEVEL)


def text_to_byte_level(text: str) -> str:
    """Map text (as its UTF-8 bytes) to the byte-level alphabet."""
    return bytes_to_byte_level(text.encode("utf-8"))


def byte_level_to_bytes(token_text: str) -> bytes:
    """Map a byte-level vocabulary string back to raw bytes.

    A character outside the 256-character alphabet (a malformed vocabulary entry) is kept as its own UTF-8
    bytes instead of failing, so decoding never raises on odd vocabularies.
    """
    out = bytearray()
    for ch in token_text:
        b = UNICODE_TO_BYTE.get(ch)
        if b is None:
            out += ch.encode("utf-8")
        else:
            out.append(b)
    return bytes(out)
