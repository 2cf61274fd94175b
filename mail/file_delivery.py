"""Delivery to ``.eml`` files in a directory, the embedded default."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from mail.delivery_base import DeliveryResult, InvalidMessage, read_envelope

logger = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._@+-]")


def safe_file_name(message_id: str) -> str:
    """Return a file name for ``message_id``: the same id always gives the same name.

    Characters outside ``A-Za-z0-9._@+-`` become ``_``. When that changes the
    id, a hash of the whole id is appended so that two ids never share a name.
    """
    stripped = message_id.strip().removeprefix("<").removesuffix(">")
    safe = _SAFE_NAME.sub("_", stripped).lstrip(".")
    if safe != stripped or not safe:
        digest = hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:12]
        safe = f"{safe}-{digest}"
    return f"{safe}.eml"


class FileDelivery:
    """Writes each message to ``<safe message id>.eml`` in one directory.

    A message id that already has a file counts as sent and is not written
    again, so a retried batch leaves one file per message.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def send_batch(self, messages: Sequence[tuple[str, bytes]]) -> list[DeliveryResult]:
        """Write every message that has no file yet; return one result each."""
        results = [self._write(message_id, raw) for message_id, raw in messages]
        written = sum(result.status == "sent" for result in results)
        logger.info(
            "wrote %d of %d messages to %s", written, len(results), self.directory
        )
        return results

    def _write(self, message_id: str, raw: bytes) -> DeliveryResult:
        try:
            read_envelope(message_id, raw)
        except InvalidMessage as error:
            logger.warning("not writing message %s: %s", message_id, error)
            return DeliveryResult(message_id, "rejected", str(error))

        target = self.directory / safe_file_name(message_id)
        if target.exists():
            return DeliveryResult(message_id, "sent", f"already written to {target}")

        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            _write_atomically(target, raw)
        except OSError as error:
            logger.warning("writing message %s failed: %s", message_id, error)
            return DeliveryResult(
                message_id, "retry", f"writing {target} failed: {error}"
            )
        return DeliveryResult(message_id, "sent", f"written to {target}")


def _write_atomically(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary file and a rename."""
    descriptor, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=".tmp-", suffix=".eml"
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
