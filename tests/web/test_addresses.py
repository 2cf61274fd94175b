import pytest

from config import load_settings
from web.addresses import AddressRejected, check_public

PRODUCTION = load_settings({"TORACE_ENV": "production", "TORACE_SECRET_KEY": "k" * 40})


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5432/",
        "https://10.1.2.3/cal.ics",
        "http://192.168.0.10/dav/",
        "http://169.254.169.254/latest/",
        "http://[::1]:8080/cal.ics",
        "http://localhost/cal.ics",
    ],
)
def test_production_rejects_the_servers_own_network(url: str) -> None:
    with pytest.raises(AddressRejected, match="inside the server's own network"):
        check_public(url, PRODUCTION)


def test_development_keeps_loopback_calendars() -> None:
    check_public("http://127.0.0.1:5432/", load_settings({}))
