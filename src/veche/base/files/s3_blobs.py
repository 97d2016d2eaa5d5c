"""Chat files in an S3-compatible object store (AWS S3, MinIO, Ceph RGW, ...), through boto3.

boto3 blocks, so every call runs in a small thread pool of this store's own (at most ``workers`` calls at once,
whatever the number of uploads and downloads), never on the event loop. Keys are ``<prefix><file id>``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from veche.base.files.blobs import CHUNK_BYTES, BlobMissing, BlobStoreError, check_key

__all__ = ["S3BlobStore"]

T = TypeVar("T")
_MISSING = {"NoSuchKey", "404", "NotFound"}


class S3BlobStore:
    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str = "",
        secret_access_key: str = "",
        prefix: str = "",
        path_style: bool = True,
        workers: int = 4,
    ) -> None:
        credentials: dict[str, str] = {}
        if access_key_id:
            credentials = {"aws_access_key_id": access_key_id, "aws_secret_access_key": secret_access_key}
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if path_style else "auto"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
            max_pool_connections=workers,
        )
        self._client: Any = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url or None, region_name=region, config=config, **credentials
        )
        self._bucket = bucket
        self._prefix = prefix
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="veche-s3")
        # upload_file splits big files into parts; those threads are the transfer's own, one at a time here.
        self._transfer = TransferConfig(use_threads=False, multipart_chunksize=16 * 1024 * 1024)

    def _key(self, key: str) -> str:
        return self._prefix + check_key(key)

    async def _run(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, functools.partial(call, *args, **kwargs))
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                raise BlobMissing(f"no such object in S3 bucket {self._bucket!r}") from exc
            raise BlobStoreError(f"S3 bucket {self._bucket!r}: {code or exc}") from exc
        except BotoCoreError as exc:
            raise BlobStoreError(f"S3 bucket {self._bucket!r}: {exc}") from exc

    async def check(self) -> None:
        """Raise :class:`BlobStoreError` unless the bucket exists and is reachable with these credentials."""
        await self._run(self._client.head_bucket, Bucket=self._bucket)

    async def put(self, key: str, source: Path, content_type: str) -> None:
        await self._run(
            self._client.upload_file,
            str(source),
            self._bucket,
            self._key(key),
            ExtraArgs={"ContentType": content_type},
            Config=self._transfer,
        )

    async def read(self, key: str) -> AsyncIterator[bytes]:
        answer = await self._run(self._client.get_object, Bucket=self._bucket, Key=self._key(key))
        body = answer["Body"]
        try:
            while chunk := await self._run(body.read, CHUNK_BYTES):
                yield chunk
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        await self._run(self._client.delete_object, Bucket=self._bucket, Key=self._key(key))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
