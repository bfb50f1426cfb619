"""What an uploaded file may hold, checked before it is unpacked, parsed or loaded: zip bombs
from the zip's directory, JSON depth by streaming, shapefile vertices from record headers."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from data.imports.report import refuse


@dataclass(frozen=True)
class InputLimits:
    """Upload limits; :meth:`of` takes the configured ``WANGGE_MAX_*`` values."""

    max_uncompressed_bytes: int = 500 * 1024 * 1024
    max_zip_ratio: int = 200
    max_zip_members: int = 1000
    max_vertices: int = 5_000_000
    max_json_depth: int = 64

    @classmethod
    def of(cls, settings) -> InputLimits:
        return cls(
            max_uncompressed_bytes=settings.max_uncompressed_bytes,
            max_zip_ratio=settings.max_zip_ratio,
            max_vertices=settings.max_vertices,
            max_json_depth=settings.max_json_depth,
        )


def check_zip(zf: zipfile.ZipFile, label: str, limits: InputLimits) -> None:
    """Refuse a zip bomb from its directory, before anything is decompressed: too many
    members, too many bytes once extracted, or a member compressed beyond any real data's
    ratio. (Extraction stops at each member's declared size, so a member cannot lie.)"""
    members = zf.infolist()
    if len(members) > limits.max_zip_members:
        refuse(
            label,
            "zip_too_many_files",
            f"压缩包内有 {len(members)} 个文件（最多 {limits.max_zip_members} 个）",
        )
    total = sum(m.file_size for m in members)
    if total > limits.max_uncompressed_bytes:
        refuse(
            label,
            "zip_too_large",
            f"压缩包解压后 {total / 2**20:.0f} MiB（最多 "
            f"{limits.max_uncompressed_bytes / 2**20:.0f} MiB）",
        )
    for m in members:
        ratio = m.file_size // max(m.compress_size, 1)
        if m.file_size > 2**20 and m.file_size > limits.max_zip_ratio * max(m.compress_size, 1):
            refuse(label, "zip_bomb", f"压缩包成员 {m.filename} 的压缩比为 {ratio}:1，疑似压缩炸弹")


def check_json_depth(path: Path, label: str, max_depth: int) -> None:
    """Refuse JSON nested deeper than ``max_depth``, streaming, before any parser sees it."""
    depth, in_string, escaped = 0, False, False
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            for byte in chunk:
                if in_string:
                    if escaped:
                        escaped = False
                    elif byte == 0x5C:  # backslash
                        escaped = True
                    elif byte == 0x22:
                        in_string = False
                elif byte == 0x22:
                    in_string = True
                elif byte in (0x5B, 0x7B):  # [ {
                    depth += 1
                    if depth > max_depth:
                        refuse(label, "json_too_deep", f"JSON 嵌套超过 {max_depth} 层")
                elif byte in (0x5D, 0x7D):
                    depth -= 1


SHP_MULTI_POINT_TYPES = {3, 5, 8, 13, 15, 18, 23, 25, 28, 31}


def shapefile_vertices(shp: Path) -> int:
    """Vertices of a .shp from its record headers alone (seeks past the coordinates)."""
    total = 0
    with shp.open("rb") as fh:
        fh.seek(100)
        while header := fh.read(12):
            if len(header) < 12:
                break
            length = int.from_bytes(header[4:8], "big") * 2  # content bytes, shape type incl.
            kind = int.from_bytes(header[8:12], "little")
            if kind in SHP_MULTI_POINT_TYPES:
                # box (32 bytes), then numPoints (multipoints) or numParts and numPoints
                head = fh.read(40)
                if len(head) < 40:
                    break
                at = 32 if kind in (8, 18, 28) else 36
                total += int.from_bytes(head[at : at + 4], "little")
                read = 4 + 40
            elif kind in (1, 11, 21):
                total, read = total + 1, 4
            else:
                read = 4
            fh.seek(length - read, 1)
    return total


def check_vertices(count: int, label: str, limits: InputLimits) -> None:
    if count > limits.max_vertices:
        refuse(label, "too_many_vertices", f"共 {count} 个顶点（最多 {limits.max_vertices} 个）")


def check_size(data: Path, label: str, limits: InputLimits) -> None:
    """The checks a layer file gets before it is parsed, by its kind."""
    suffix = data.suffix.lower()
    if suffix in (".geojson", ".json"):
        check_json_depth(data, label, limits.max_json_depth)
    if suffix == ".shp":
        check_vertices(shapefile_vertices(data), label, limits)
