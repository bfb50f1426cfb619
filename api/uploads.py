"""Uploaded files, copied to disk while they stream and cut off past a limit."""

from __future__ import annotations

from pathlib import Path

from fastapi import UploadFile

CHUNK_BYTES = 1024 * 1024


class UploadTooLarge(ValueError):
    """An upload over the configured size: 413."""


def saved_upload(upload: UploadFile, folder: Path, limit: int) -> Path:
    """The upload copied into ``folder`` in 1 MiB chunks; :class:`UploadTooLarge` past ``limit``
    bytes. The file keeps only the base name the client gave."""
    dest = folder / (Path(upload.filename or "upload").name or "upload")
    written = 0
    with dest.open("wb") as fh:
        while chunk := upload.file.read(CHUNK_BYTES):
            written += len(chunk)
            if written > limit:
                raise UploadTooLarge(f"文件过大，最大 {limit / 2**20:.0f} MiB")
            fh.write(chunk)
    return dest
