from pathlib import Path

import pytest

from config import SettingsError, load_settings
from web.app import create_app


def test_embedded_default_needs_no_server(tmp_path: Path) -> None:
    settings = load_settings({"TORACE_INSTANCE_PATH": str(tmp_path)})

    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve()}/torace.db"
    assert settings.resolved_mail_dir == tmp_path / "mail"
    assert settings.redis_url == ""
    assert settings.smtp_host == ""
    assert settings.base_url == "http://127.0.0.1:5000"


def test_mail_dir_variable_overrides_instance_folder(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "TORACE_INSTANCE_PATH": str(tmp_path),
            "TORACE_MAIL_DIR": str(tmp_path / "out"),
        }
    )

    assert settings.resolved_mail_dir == tmp_path / "out"


def test_production_without_secret_key_is_rejected() -> None:
    with pytest.raises(SettingsError, match="TORACE_SECRET_KEY"):
        load_settings({"TORACE_ENV": "production"})


def test_production_app_starts_with_secret_key(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "TORACE_ENV": "production",
            "TORACE_SECRET_KEY": "k" * 40,
            "TORACE_INSTANCE_PATH": str(tmp_path),
        }
    )

    app = create_app(settings)

    assert app.config["SECRET_KEY"] == "k" * 40


def test_old_keys_verify_and_newest_signs() -> None:
    settings = load_settings(
        {"TORACE_SECRET_KEY": "new-key", "TORACE_OLD_SECRET_KEYS": "oldest, older"}
    )

    assert settings.secret_keys == ("oldest", "older", "new-key")
    assert settings.secret_key == "new-key"


def test_toml_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    config = tmp_path / "torace.toml"
    config.write_text('base_url = "https://mentoring.example.org"\nsmtp_port = 2525\n')

    settings = load_settings({"TORACE_CONFIG": str(config), "TORACE_SMTP_PORT": "465"})

    assert settings.base_url == "https://mentoring.example.org"
    assert settings.smtp_port == 465


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("TORACE_ENV", "staging", "TORACE_ENV"),
        ("TORACE_SMTP_PORT", "twenty-five", "TORACE_SMTP_PORT"),
        ("TORACE_SMTP_SECURITY", "ssl3", "TORACE_SMTP_SECURITY"),
        ("TORACE_BASE_URL", "mentoring.example.org", "TORACE_BASE_URL"),
    ],
)
def test_bad_setting_names_the_variable(variable: str, value: str, named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings({variable: value})


def test_short_production_secret_key_is_rejected() -> None:
    with pytest.raises(SettingsError, match="at least 32"):
        load_settings({"TORACE_ENV": "production", "TORACE_SECRET_KEY": "short"})
