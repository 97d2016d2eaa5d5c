"""A stand-in antivirus for the tests, with clamdscan's exit statuses: 1 (and "FOUND") for a file containing the
EICAR test signature, 0 for anything else, 2 if the file cannot be read. Run as ``python eicar_scanner.py PATH``."""

from __future__ import annotations

import sys

EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def main(path: str) -> int:
    try:
        with open(path, "rb") as handle:
            content = handle.read()
    except OSError as exc:
        print(f"{path}: ERROR {exc}")
        return 2
    if EICAR in content:
        print(f"{path}: Eicar-Signature FOUND")
        return 1
    print(f"{path}: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
