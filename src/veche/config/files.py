"""The ``files`` config section: files sent in chats — limits, allowed types, quota, storage and the scan hook
(docs/files.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["DEFAULT_ALLOWED_TYPES", "FilesConfig", "S3Config"]

# Office documents, PDF, images, text, archives, audio and video. Entries are extensions (".pdf") or MIME types
# ("image/png", "audio/*"); a file is allowed if its extension or the MIME type of its extension is listed.
DEFAULT_ALLOWED_TYPES: tuple[str, ...] = (
    # office documents
    ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods", ".odp", ".rtf", ".csv",
    ".pdf",
    # images
    ".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".heic",
    # text
    ".txt", ".md", ".log", ".json", ".xml",
    # archives
    ".zip", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".rar",
    # audio
    ".mp3", ".wav", ".ogg", ".oga", ".opus", ".m4a", ".flac", ".aac",
    # video
    ".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".ogv",
)  # fmt: skip


class S3Config(BaseModel):
    """An S3-compatible object store (AWS S3, MinIO, Ceph RGW, ...). The bucket must exist."""

    model_config = ConfigDict(extra="forbid")
    endpoint_url: str | None = Field(default=None, description="Empty: AWS S3 itself. E.g. https://minio.example:9000")
    bucket: str = ""
    region: str = "us-east-1"
    # Empty: boto3's own credential chain (AWS_* environment variables, instance role, ~/.aws).
    access_key_id: str = ""
    secret_access_key_file: Path | None = None
    prefix: str = Field(default="chat-files/", description="Keys are <prefix><file id>.")
    # Path-style addressing (https://host/bucket/key) works with every S3-compatible server; AWS accepts it too.
    path_style: bool = True


class FilesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_size_mb: float = Field(default=100, gt=0, le=100_000, description="Largest file one may send, in MB.")
    allowed_types: list[str] = Field(default_factory=lambda: list(DEFAULT_ALLOWED_TYPES))
    quota_mb: float = Field(default=1024, ge=0, description="What one user's files may take in all, in MB; 0: none.")
    storage: Literal["filesystem", "s3"] = "filesystem"
    directory: Path | None = Field(default=None, description="Filesystem storage: default <data_dir>/files.")
    s3: S3Config = Field(default_factory=S3Config)
    # The antivirus hook: a command run on each upload, "{path}" replaced by the file's path. Exit 0: clean;
    # 1: infected (refused); anything else, or no answer within scan_timeout_s: the upload fails (error).
    # E.g. ["clamdscan", "--no-summary", "--fdpass", "{path}"]. Empty: no scan.
    scan_command: list[str] = Field(default_factory=list)
    scan_timeout_s: float = Field(default=120, gt=0, le=3600)

    @field_validator("allowed_types")
    @classmethod
    def _types(cls, values: list[str]) -> list[str]:
        cleaned = []
        for value in values:
            entry = value.strip().lower()
            if not (entry.startswith(".") and len(entry) > 1) and entry.count("/") != 1:
                raise ValueError(f"files.allowed_types: {value!r} is neither an extension (.pdf) nor a MIME type")
            cleaned.append(entry)
        return cleaned

    @model_validator(mode="after")
    def _storage_complete(self) -> FilesConfig:
        if self.storage == "s3" and not self.s3.bucket:
            raise ValueError('files.storage = "s3" needs files.s3.bucket')
        if self.scan_command and not any("{path}" in arg for arg in self.scan_command):
            raise ValueError('files.scan_command must contain "{path}" where the file\'s path goes')
        return self

    @property
    def max_size_bytes(self) -> int:
        return int(self.max_size_mb * 1_000_000)

    @property
    def quota_bytes(self) -> int | None:
        return int(self.quota_mb * 1_000_000) if self.quota_mb else None
