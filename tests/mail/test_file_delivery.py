"""Delivery to .eml files: one file per Message-ID, written atomically."""

from __future__ import annotations

from pathlib import Path

from mail.delivery import FileDelivery, safe_file_name
from tests.mail.helpers import batch, raw_message


def eml_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.eml"))


def test_each_message_gets_one_file(tmp_path: Path) -> None:
    messages = batch(3)

    results = FileDelivery(tmp_path).send_batch(messages)

    assert [result.status for result in results] == ["sent"] * 3
    assert len(eml_files(tmp_path)) == 3


def test_file_holds_raw_bytes(tmp_path: Path) -> None:
    message_id, raw = raw_message("one")

    FileDelivery(tmp_path).send_batch([(message_id, raw)])

    assert (tmp_path / safe_file_name(message_id)).read_bytes() == raw


def test_file_is_named_after_message_id(tmp_path: Path) -> None:
    message_id, raw = raw_message("one")

    FileDelivery(tmp_path).send_batch([(message_id, raw)])

    expected = message_id.strip("<>") + ".eml"
    assert [path.name for path in eml_files(tmp_path)] == [expected]


def test_resending_keeps_one_file(tmp_path: Path) -> None:
    delivery = FileDelivery(tmp_path)
    message_id, raw = raw_message("one")
    delivery.send_batch([(message_id, raw)])

    again = delivery.send_batch([(message_id, raw)])

    assert again[0].status == "sent"
    assert "already written" in again[0].detail
    assert len(eml_files(tmp_path)) == 1


def test_resending_leaves_first_file_unchanged(tmp_path: Path) -> None:
    delivery = FileDelivery(tmp_path)
    message_id, raw = raw_message("one")
    delivery.send_batch([(message_id, raw)])

    delivery.send_batch([(message_id, raw.replace(b"Body of", b"Changed"))])

    assert (tmp_path / safe_file_name(message_id)).read_bytes() == raw


def test_no_temporary_files_remain(tmp_path: Path) -> None:
    FileDelivery(tmp_path).send_batch(batch(3))

    assert [path.name for path in tmp_path.iterdir() if path.suffix != ".eml"] == []
    assert not list(tmp_path.glob(".tmp-*"))


def test_missing_directory_is_created(tmp_path: Path) -> None:
    outbox = tmp_path / "instance" / "outbox"

    FileDelivery(outbox).send_batch(batch(1))

    assert len(eml_files(outbox)) == 1


def test_unwritable_directory_gives_retry(tmp_path: Path) -> None:
    blocker = tmp_path / "outbox"
    blocker.write_text("a file where the directory should be")

    results = FileDelivery(blocker).send_batch(batch(1))

    assert results[0].status == "retry"


def test_mismatched_message_id_is_rejected(tmp_path: Path) -> None:
    _, raw = raw_message("one")

    results = FileDelivery(tmp_path).send_batch([("<other@torace.example.org>", raw)])

    assert results[0].status == "rejected"
    assert eml_files(tmp_path) == []


def test_safe_name_replaces_path_characters() -> None:
    name = safe_file_name("<../../etc/passwd@torace>")

    assert "/" not in name
    assert not name.startswith(".")
    assert name.endswith(".eml")


def test_safe_names_of_similar_ids_differ() -> None:
    assert safe_file_name("<a/b@torace>") != safe_file_name("<a_b@torace>")
