"""A throwaway S3-compatible server for tests: moto's ``moto_server`` as a child process on a free port."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.support.net import free_tcp_port

__all__ = ["S3Server"]

ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"


@dataclass
class S3Server:
    url: str
    process: subprocess.Popen[bytes]
    access_key_id: str = ACCESS_KEY
    secret_access_key: str = SECRET_KEY

    @classmethod
    def start(cls, log: Path) -> S3Server:
        binary = shutil.which("moto_server") or str(Path(sys.executable).with_name("moto_server"))
        port = free_tcp_port()
        with log.open("wb") as out:
            process = subprocess.Popen(
                [binary, "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT
            )
        server = cls(url=f"http://127.0.0.1:{port}", process=process)
        deadline = time.monotonic() + 30
        while True:  # the one wait of a child starting: until it answers HTTP
            if process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {process.returncode}: {log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(server.url + "/moto-api/", timeout=1).close()
                return server
            except OSError:
                if time.monotonic() > deadline:
                    server.stop()
                    raise RuntimeError("moto_server did not answer within 30 s") from None
                time.sleep(0.1)

    def create_bucket(self, name: str) -> None:
        import boto3

        boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
        ).create_bucket(Bucket=name)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
