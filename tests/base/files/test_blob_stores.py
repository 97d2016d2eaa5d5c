"""Both blob stores against their real backends: a directory, and moto's S3 server over HTTP."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.s3_server import S3Server
from veche.base.files.blobs import CHUNK_BYTES, BlobMissing, BlobStore, BlobStoreError
from veche.base.files.filesystem_blobs import FilesystemBlobStore
from veche.base.files.s3_blobs import S3BlobStore


@pytest.fixture(params=["filesystem", "s3"])
async def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    if request.param == "filesystem":
        yield FilesystemBlobStore(tmp_path / "files")
        return
    server: S3Server = request.getfixturevalue("s3_server")
    bucket = f"veche-{secrets.token_hex(4)}"
    server.create_bucket(bucket)
    store = S3BlobStore(
        bucket=bucket,
        endpoint_url=server.url,
        access_key_id=server.access_key_id,
        secret_access_key=server.secret_access_key,
        prefix="chat-files/",
    )
    await store.check()
    yield store
    store.close()


async def _read(store: BlobStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.read(key)])


def _key() -> str:
    return secrets.token_urlsafe(32)


async def test_a_stored_file_reads_back_byte_for_byte(blobs: BlobStore, tmp_path: Path) -> None:
    data = secrets.token_bytes(3 * CHUNK_BYTES + 17)  # several chunks and a short last one
    source = tmp_path / "upload"
    source.write_bytes(data)
    key = _key()
    await blobs.put(key, source, "application/pdf")
    assert await _read(blobs, key) == data
    assert source.read_bytes() == data  # the caller's file is left alone


async def test_an_empty_file_is_stored(blobs: BlobStore, tmp_path: Path) -> None:
    source = tmp_path / "empty"
    source.write_bytes(b"")
    key = _key()
    await blobs.put(key, source, "text/plain")
    assert await _read(blobs, key) == b""


async def test_a_deleted_file_is_missing_and_deleting_again_is_fine(blobs: BlobStore, tmp_path: Path) -> None:
    source = tmp_path / "upload"
    source.write_bytes(b"hello")
    key = _key()
    await blobs.put(key, source, "text/plain")
    await blobs.delete(key)
    with pytest.raises(BlobMissing):
        await _read(blobs, key)
    await blobs.delete(key)


async def test_an_unknown_key_is_missing(blobs: BlobStore) -> None:
    with pytest.raises(BlobMissing):
        await _read(blobs, _key())


async def test_keys_that_could_leave_the_store_are_refused(blobs: BlobStore, tmp_path: Path) -> None:
    source = tmp_path / "upload"
    source.write_bytes(b"x")
    with pytest.raises(ValueError):
        await blobs.put("../../etc/passwd-aaaaaaaaaaaa", source, "text/plain")


async def test_filesystem_files_are_the_owners_only(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "files")
    source = tmp_path / "upload"
    source.write_bytes(b"secret minutes")
    key = _key()
    await store.put(key, source, "text/plain")
    stored = tmp_path / "files" / key[:2] / key
    assert stored.stat().st_mode & 0o077 == 0
    assert (tmp_path / "files").stat().st_mode & 0o077 == 0
    assert not list((tmp_path / "files").rglob("*.partial"))


async def test_s3_refuses_a_bucket_that_does_not_exist(s3_server: S3Server) -> None:
    store = S3BlobStore(
        bucket="no-such-bucket",
        endpoint_url=s3_server.url,
        access_key_id=s3_server.access_key_id,
        secret_access_key=s3_server.secret_access_key,
    )
    try:
        with pytest.raises(BlobStoreError, match="no-such-bucket"):
            await store.check()
    finally:
        store.close()


async def test_s3_keeps_the_objects_under_the_prefix_with_their_type(s3_server: S3Server, tmp_path: Path) -> None:
    import boto3

    bucket = f"veche-{secrets.token_hex(4)}"
    s3_server.create_bucket(bucket)
    store = S3BlobStore(
        bucket=bucket,
        endpoint_url=s3_server.url,
        access_key_id=s3_server.access_key_id,
        secret_access_key=s3_server.secret_access_key,
        prefix="veche/",
    )
    source = tmp_path / "upload"
    source.write_bytes(b"%PDF-1.7 minutes")
    key = _key()
    try:
        await store.put(key, source, "application/pdf")
    finally:
        store.close()
    client = boto3.client(
        "s3",
        endpoint_url=s3_server.url,
        region_name="us-east-1",
        aws_access_key_id=s3_server.access_key_id,
        aws_secret_access_key=s3_server.secret_access_key,
    )
    head = client.head_object(Bucket=bucket, Key=f"veche/{key}")
    assert head["ContentType"] == "application/pdf"
    assert head["ContentLength"] == len(b"%PDF-1.7 minutes")
