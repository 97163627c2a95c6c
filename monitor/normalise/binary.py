"""Bodies that are not text (images, executables, archives): recognised, never read as text.

Read as text, such bytes yield invented "changes" (a funding figure of "£ 4" found in an
executable). The rule, in order: a known magic number; a declared image, audio, video, font
or archive type; then sniffing the first 8 KB: a NUL byte, or more than one byte in twenty a
control character. A body declared as text tolerates stray NULs and needs one byte in ten.
"""

from __future__ import annotations

from monitor.document import Document, Ignored
from monitor.normalise.registry import source

HEAD = 8192
MAGIC = (
    (b"\x7fELF", "an ELF executable"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\x1f\x8b", "gzip data"),
    (b"\xfd7zXZ\x00", "xz data"),
    (b"\x28\xb5\x2f\xfd", "zstd data"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-style Office document"),
    (b"\xca\xfe\xba\xbe", "a Mach-O or Java class file"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "a Mach-O executable"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x00asm", "a WebAssembly module"),
    (b"OggS", "Ogg media"),
    (b"wOFF", "a web font"),
    (b"wOF2", "a web font"),
)
BINARY_TYPES = ("image/", "audio/", "video/", "font/")
ARCHIVE_TYPES = frozenset(
    {
        "application/zip",
        "application/gzip",
        "application/x-gzip",
        "application/x-tar",
        "application/x-7z-compressed",
        "application/vnd.rar",
        "application/x-rar-compressed",
        "application/x-executable",
        "application/x-sharedlib",
        "application/wasm",
    }
)
TEXT_TYPES = ("json", "xml", "yaml", "markdown", "javascript", "html")
_UNICODE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")  # UTF-16 text has NULs


_CONTROLS = bytes(b for b in range(32) if b not in (9, 10, 12, 13))


def binary_reason(body: bytes, content_type: str = "") -> str | None:
    """What kind of non-text ``body`` is ("a PNG image", "NUL bytes"), or None for text."""
    head = body[:HEAD]
    for magic, what in MAGIC:
        if head.startswith(magic):
            return what
    ct = content_type.split(";")[0].strip().lower()
    if (ct.startswith(BINARY_TYPES) and ct != "image/svg+xml") or ct in ARCHIVE_TYPES:
        return f"declared {ct}"
    if not head or head.startswith(_UNICODE_BOMS):
        return None
    controls = len(head) - len(head.translate(None, _CONTROLS))  # counted in C, not a loop
    if ct.startswith("text/") or any(t in ct for t in TEXT_TYPES):
        return "control characters" if controls > len(head) // 10 else None
    if b"\x00" in head:
        return "NUL bytes"
    return "control characters" if controls > len(head) // 20 else None


def binary_document(body: bytes, what: str | None = None) -> Document:
    """A document with nothing to compare, saying why."""
    what = what or binary_reason(body) or "not text"
    reason = f"binary body ({what}, {_size(len(body))}): not read as text"
    return Document(ignored=[Ignored(reason, "")], format="binary", source="binary")


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes" if n != 1 else "1 byte"
    return f"{n / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


@source("binary", ())
def binary(body: bytes, url: str) -> Document:
    """Bytes that are not text (an image, an executable, an archive): nothing to compare."""
    return binary_document(body)
