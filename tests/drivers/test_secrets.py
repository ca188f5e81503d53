"""Secret references: only `env:NAME` or `file:/absolute/path` are taken, and the worker resolves
them without ever putting a secret value in an error."""

from pathlib import Path

import pytest

from nuage.domain.errors import PermanentError
from nuage.domain.secrets import parse_secret_ref
from nuage.drivers.secrets import read_secret


@pytest.mark.parametrize("ref", ["env:PVE_TOKEN", "env:_x1", "file:/etc/nuage/pve.token"])
def test_references_round_trip(ref: str) -> None:
    assert str(parse_secret_ref(ref)) == ref


@pytest.mark.parametrize(
    "ref", ["", "PVE_TOKEN", "env:", "env:1X", "env:A-B", "file:relative/path", "vault:x", "s3cr3t"]
)
def test_anything_else_is_refused(ref: str) -> None:
    with pytest.raises(ValueError, match="env:NAME or file:/absolute/path"):
        parse_secret_ref(ref)


def test_an_environment_variable_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUAGE_TEST_TOKEN", "tok-123")
    assert read_secret(parse_secret_ref("env:NUAGE_TEST_TOKEN")) == "tok-123"


def test_a_file_is_read_without_its_trailing_newline(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("tok-456\n")
    assert read_secret(parse_secret_ref(f"file:{tmp_path / 'token'}")) == "tok-456"


@pytest.mark.parametrize("target", ["missing", "empty"])
def test_a_missing_or_empty_secret_is_a_permanent_error(tmp_path: Path, target: str) -> None:
    (tmp_path / "empty").write_text("")
    with pytest.raises(PermanentError) as caught:
        read_secret(parse_secret_ref(f"file:{tmp_path / target}"))
    assert caught.value.code == "secret_unavailable"
