"""The ``license`` config section: which signing keys this installation trusts for its license file.

Keys added with ``veche license install --trust`` are kept in the data directory instead
(``veche.manager.license_file``); both are trusted.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from veche.domain.license import KEY_PREFIX, InvalidKey, format_public_key, parse_public_key

__all__ = ["LicenseConfig", "resolve_public_key"]


class LicenseConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    trusted_keys: list[str] = Field(
        default_factory=list,
        description='Public keys that may sign the license: "ed25519:..." texts or paths to .pub files.',
    )

    @field_validator("trusted_keys")
    @classmethod
    def _keys_or_paths(cls, values: list[str]) -> list[str]:
        # Key texts are checked at load; a path is read when the keys are needed (trusted_key_texts).
        checked = []
        for value in values:
            value = value.strip()
            if not value:
                raise ValueError("license.trusted_keys: an entry is empty")
            if value.startswith(KEY_PREFIX):
                try:
                    parse_public_key(value)
                except InvalidKey as e:
                    raise ValueError(f"license.trusted_keys: {e.message}") from None
            checked.append(value)
        return checked

    def trusted_key_texts(self) -> list[str]:
        """Every trusted key as ``ed25519:...``, .pub files read; :class:`InvalidKey` names a bad entry."""
        return [resolve_public_key(entry, where="license.trusted_keys") for entry in self.trusted_keys]


def resolve_public_key(entry: str, *, where: str) -> str:
    """A public key text, or the key in the .pub file at path ``entry``, as ``ed25519:...``.

    ``where`` names the setting or option in the error message.
    """
    entry = entry.strip()
    if entry.startswith(KEY_PREFIX):
        text, source = entry, ""
    else:
        path = Path(entry).expanduser()
        try:
            text = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            raise InvalidKey(f"{where}: cannot read the public key file {path}: {e}") from None
        source = f" ({path})"
    try:
        return format_public_key(parse_public_key(text))
    except InvalidKey as e:
        raise InvalidKey(f"{where}{source}: {e.message}") from None
