"""Calendar connection pages: a mentor's own page behind a signed link, OAuth
callbacks, and the administrators' list of every connection.

The mentor's pages need no CSRF token: the signed token in their URL is
unguessable by another site, so it does the job of one. GET never changes
anything; each form POSTs to its own URL.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import (
    Blueprint,
    abort,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from calendar_sync.caldav_source import CalDAVSource, discover_calendars
from calendar_sync.errors import AuthError, CalendarError
from calendar_sync.feed import IcsFeedSource, new_session, redact_url
from calendar_sync.google import google_auth_url, google_exchange_code
from calendar_sync.ics import parse_calendar
from calendar_sync.sources import open_source
from web.addresses import AddressRejected, check_public
from web.audit import record
from web.availability import read_options_for_person
from web.extensions import csrf, db
from web.links import LinkExpired, LinkInvalid, link_url, read_token
from web.models import CalendarConnection, Membership, Person
from web.oauth import (
    ca_certs,
    google_client_config,
    google_configured,
    http_session,
    is_personal_account,
    microsoft_auth,
    microsoft_configured,
    new_state,
    pending_store,
    redirect_uri,
    seal_secret,
    settings,
)
from web.outbox import queue_mail
from web.sync import PROVIDER_NAMES, new_grant_id

bp = Blueprint("calendars", __name__)
log = logging.getLogger(__name__)

NOTICES = {
    "connected": "Your calendar is connected. Torace reads it within a few minutes.",
    "disconnected": "The calendar is disconnected, and Torace no longer reads it.",
}


class Rejected(Exception):
    """Input that cannot be used. The message names the value and the fix."""


# -- the mentor's page --------------------------------------------------------


def _person_for(purpose: str, token: str) -> Person:
    """Return the person a connect or reconnect link names, or raise LinkInvalid."""
    claim = read_token(purpose, token)
    person = db.session.get(Person, claim.person_id)
    if person is None:
        raise LinkInvalid()
    if purpose == "connect" and claim.object_id != person.id:
        raise LinkInvalid()
    if purpose == "reconnect":
        connection = db.session.get(CalendarConnection, claim.object_id)
        if connection is not None and connection.person_id != person.id:
            raise LinkInvalid()
    return person


def _page_url(purpose: str, token: str) -> str:
    return url_for(f"calendars.{purpose}_page", token=token)


def _render(purpose: str, token: str, person: Person, status: int = 200, **extra: Any):
    config = settings()
    context = {
        "person": person,
        "connections": sorted(person.calendars, key=lambda c: c.id),
        "purpose": purpose,
        "token": token,
        "google_enabled": google_configured(config),
        "microsoft_enabled": microsoft_configured(config),
        "notice": NOTICES.get(request.args.get("notice", "")),
        "provider_names": PROVIDER_NAMES,
        "redact_url": redact_url,
        **extra,
    }
    return render_template("calendars/connect.html", **context), status


def _with_person(view):
    """Resolve the link in the URL; show the expired or invalid page instead."""

    def wrapper(purpose: str, token: str, **values: Any):
        try:
            person = _person_for(purpose, token)
        except LinkExpired as expired:
            return _expired(purpose, expired)
        except LinkInvalid:
            return render_template("links/invalid.html"), 404
        return view(purpose, token, person, **values)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _expired(purpose: str, expired: LinkExpired):
    claim = expired.claim
    if request.method == "POST" and request.form.get("fresh") and claim is not None:
        person = db.session.get(Person, claim.person_id)
        if person is not None:
            url = link_url("connect", person.id, person.id)
            queue_mail(
                "fresh-link",
                f"connect:{person.id}:{url[-12:]}",
                person,
                "Your new Torace link",
                "fresh_link",
                url=url,
            )
            db.session.commit()
    return render_template(
        "links/expired.html", purpose=purpose, sent=request.method == "POST"
    ), 410


def _route(rule: str, **options: Any):
    """Register a view under both the connect and the reconnect link."""

    def register(view):
        wrapped = csrf.exempt(_with_person(view))
        for purpose in ("connect", "reconnect"):
            bp.add_url_rule(
                f"/l/{purpose}/<token>{rule}",
                f"{purpose}_{view.__name__}",
                wrapped,
                defaults={"purpose": purpose},
                **options,
            )
        return view

    return register


@_route("", methods=["GET", "POST"])
def page(purpose: str, token: str, person: Person):
    """Show the person's connections and the forms to connect a calendar."""
    return _render(purpose, token, person)


@_route("/google", methods=["POST"])
def google_start(purpose: str, token: str, person: Person):
    """Send the browser to Google's consent screen."""
    config = settings()
    if not google_configured(config):
        abort(404, "Google calendars are not set up on this Torace.")
    state = pending_store().put(_pending(purpose, token, person, "google"))
    url = google_auth_url(
        google_client_config(config), redirect_uri(config, "google"), state
    )
    return redirect(url)


@_route("/microsoft", methods=["POST"])
def microsoft_start(purpose: str, token: str, person: Person):
    """Send the browser to Microsoft's sign-in page."""
    config = settings()
    if not microsoft_configured(config):
        abort(404, "Microsoft calendars are not set up on this Torace.")
    state = new_state()
    try:
        with http_session(config) as session:
            flow = microsoft_auth(config, session).initiate(
                redirect_uri(config, "microsoft"), state, response_mode="form_post"
            )
    except CalendarError as error:
        log.warning("Microsoft sign-in for person %s failed: %s", person.id, error)
        message = "Microsoft's sign-in service did not respond. Try again later."
        return _render(purpose, token, person, 502, error=message)
    data = _pending(purpose, token, person, "microsoft")
    pending_store().put({**data, "flow": flow}, key=state)
    return redirect(flow["auth_uri"])


def _pending(purpose: str, token: str, person: Person, provider: str) -> dict:
    reconnect = request.form.get("connection", "")
    return {
        "provider": provider,
        "person": person.id,
        "connection": int(reconnect) if reconnect.isdigit() else None,
        "back": _page_url(purpose, token),
    }


@_route("/caldav", methods=["POST"])
def caldav(purpose: str, token: str, person: Person):
    """Connect a CalDAV calendar: check the account, then store the calendar."""
    try:
        chosen = _caldav_choice(person)
    except Rejected as rejected:
        return _render(purpose, token, person, 422, error=str(rejected))
    if isinstance(chosen, dict):
        return _render(purpose, token, person, choose=chosen)
    db.session.commit()
    return redirect(_page_url(purpose, token) + "?notice=connected")


@_route("/feed", methods=["POST"])
def feed(purpose: str, token: str, person: Person):
    """Connect an iCalendar feed after checking that it serves a calendar."""
    url = request.form.get("url", "").strip()
    try:
        _check_feed(person, url)
    except Rejected as rejected:
        return _render(purpose, token, person, 422, error=str(rejected))
    # NOTE: the feed address is stored as given; a private feed address (a
    # token in its path or query, or user:password@) is a secret in itself and
    # is not yet encrypted at rest like passwords and refresh tokens are.
    connection = CalendarConnection(
        person=person, kind="ics-feed", url=url, account=redact_url(url)
    )
    connection.sync_state = {"grant": new_grant_id()}
    db.session.add(connection)
    record(f"link:{person.email}", "calendar.connect", person, kind="ics-feed")
    db.session.commit()
    return redirect(_page_url(purpose, token) + "?notice=connected")


@_route("/<int:connection_id>/disconnect", methods=["POST"])
def disconnect(purpose: str, token: str, person: Person, connection_id: int):
    """Remove one of the person's connections and its busy blocks."""
    connection = db.session.get(CalendarConnection, connection_id)
    if connection is None or connection.person_id != person.id:
        return redirect(_page_url(purpose, token))
    kind = connection.kind
    db.session.delete(connection)
    record(f"link:{person.email}", "calendar.disconnect", person, kind=kind)
    db.session.commit()
    return redirect(_page_url(purpose, token) + "?notice=disconnected")


# -- CalDAV and feed checks ---------------------------------------------------


def _caldav_choice(person: Person) -> CalendarConnection | dict:
    """Store the chosen calendar, or return the calendars to choose from."""
    store = pending_store()
    pending_key = request.form.get("pending", "")
    if pending_key:
        step = store.take(pending_key)
        if step is None or step.get("person") != person.id:
            raise Rejected("That form has expired. Enter the calendar address again.")
        chosen = request.form.get("calendar", "")
        names = {c["url"]: c["name"] for c in step["calendars"]}
        if chosen not in names:
            raise Rejected("Choose one of the calendars listed.")
        return _save_caldav(person, step, chosen)

    step = _discover(person)
    calendars = step["calendars"]
    if len(calendars) == 1:
        return _save_caldav(person, step, calendars[0]["url"])
    return {"pending": store.put(step), "calendars": calendars}


def _discover(person: Person) -> dict[str, Any]:
    url = request.form.get("url", "").strip()
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not url.lower().startswith(("https://", "http://")):
        raise Rejected(
            f"{url or 'The address'!r} is not a web address; paste the CalDAV "
            "address that starts with https://."
        )
    try:
        check_public(url, settings())
    except AddressRejected as rejected:
        raise Rejected(f"Torace cannot use {redact_url(url)}: {rejected}.") from None
    timeout = settings().calendar_timeout_seconds
    try:
        found = discover_calendars(url, username or None, password, timeout)
    except AuthError:
        raise Rejected(
            f"The server at {redact_url(url)} rejected the user name or password. "
            "Check them and try again; some servers need an app password."
        ) from None
    except CalendarError as error:
        raise Rejected(
            f"No CalDAV calendar was found at {redact_url(url)} ({error.args[0]}). "
            "Check the address."
        ) from None
    calendars = [{"url": c.url, "name": c.name} for c in found if c.supports_events]
    if not calendars:
        raise Rejected(
            f"The account at {redact_url(url)} has no calendar for events. "
            "Create one in your calendar app, then try again."
        )
    return {
        "person": person.id,
        "username": username,
        "password": password,
        "connection": request.form.get("connection", ""),
        "server": _server_product(url, timeout),
        "calendars": calendars,
    }


def _save_caldav(person: Person, step: dict[str, Any], url: str) -> CalendarConnection:
    connection = _reconnecting(person, str(step.get("connection", "")))
    if connection is None:
        connection = CalendarConnection(person=person, kind="caldav")
        db.session.add(connection)
    connection.kind, connection.url = "caldav", url
    connection.username = step["username"]
    connection.account = step["username"] or redact_url(url)
    connection.secret = seal_secret(step["password"]) if step["password"] else ""
    _reset(connection, {"server": step.get("server") or ""})
    record(f"link:{person.email}", "calendar.connect", person, kind="caldav")
    return connection


def _server_product(url: str, timeout: float) -> str:
    """Name the CalDAV server product when it shows itself, for its quirks."""
    session = new_session()
    try:
        reply = session.options(url, timeout=timeout)
        if "xandikos" in reply.headers.get("Server", "").lower():
            return "xandikos"
        # Radicale names itself only in its web interface.
        parts = urlsplit(url)
        web = session.get(f"{parts.scheme}://{parts.netloc}/.web/", timeout=timeout)
        return "radicale" if b"Radicale" in web.content[:4096] else ""
    except requests.RequestException:
        return ""
    finally:
        session.close()


def _check_feed(person: Person, url: str) -> None:
    if not url.lower().startswith(("https://", "http://")):
        raise Rejected(
            f"{url or 'The address'!r} is not a web address; paste the feed "
            "address (it often ends in .ics) that starts with https://."
        )
    try:
        check_public(url, settings())
    except AddressRejected as rejected:
        raise Rejected(f"Torace cannot use {redact_url(url)}: {rejected}.") from None
    options = read_options_for_person(person)
    timeout = settings().calendar_timeout_seconds
    try:
        source = open_source(url, base_dir=None, options=options, timeout=timeout)
        if isinstance(source, CalDAVSource):
            raise Rejected(
                f"{redact_url(url)} is a CalDAV calendar; connect it with the "
                "CalDAV form and your user name and password."
            )
        assert isinstance(source, IcsFeedSource)
        parse_calendar(source.fetch())
    except CalendarError as error:
        raise Rejected(
            f"Torace could not read a calendar feed at {redact_url(url)} "
            f"({error.args[0]}). Check the address."
        ) from None
    except ValueError as error:
        raise Rejected(
            f"{redact_url(url)} does not serve a calendar ({error}). "
            "Copy the calendar's iCalendar (.ics) address."
        ) from None


def _reconnecting(person: Person, connection_id: str) -> CalendarConnection | None:
    if not connection_id.isdigit():
        return None
    connection = db.session.get(CalendarConnection, int(connection_id))
    if connection is None or connection.person_id != person.id:
        return None
    return connection


def _reset(connection: CalendarConnection, state: dict[str, Any]) -> None:
    """Start a (re)connected calendar afresh: new grant, no blocks, status ok."""
    connection.status, connection.last_error = "ok", ""
    connection.last_sync_at = None
    connection.sync_state = {"grant": new_grant_id(), **state}
    connection.busy_blocks = []


# -- OAuth callbacks ----------------------------------------------------------


def _take_pending(state: str, provider: str) -> tuple[dict[str, Any], Person]:
    pending = pending_store().take(state)
    person = db.session.get(Person, pending["person"]) if pending else None
    if pending is None or person is None or pending.get("provider") != provider:
        abort(
            400,
            "This sign-in has expired or was already used. Open your calendar "
            "page from the email again and start over.",
        )
    return pending, person


@bp.route("/oauth/google/callback")
def google_callback():
    """Finish Google's consent: exchange the code and store the encrypted grant."""
    pending, person = _take_pending(request.args.get("state", ""), "google")
    if request.args.get("error") or not request.args.get("code"):
        return redirect(pending["back"])
    config = settings()
    try:
        info = google_exchange_code(
            google_client_config(config),
            redirect_uri(config, "google"),
            request.args["code"],
            ca_certs=ca_certs(config),
            timeout=config.calendar_timeout_seconds,
        )
    except CalendarError as error:
        log.warning("Google connection for person %s failed: %s", person.id, error)
        abort(502, "Google did not accept the sign-in. Start again from your page.")
    _save_oauth(person, pending, "google", "primary", "", seal_secret(json.dumps(info)))
    return redirect(pending["back"] + "?notice=connected")


@bp.route("/oauth/microsoft/callback", methods=["POST"])
@csrf.exempt
def microsoft_callback():
    """Finish Microsoft's sign-in (a form_post reply), checked by its state."""
    pending, person = _take_pending(request.form.get("state", ""), "microsoft")
    if request.form.get("error"):
        return redirect(pending["back"])
    config = settings()
    try:
        with http_session(config) as session:
            blob, username = microsoft_auth(config, session).complete(
                pending["flow"], dict(request.form)
            )
    except CalendarError as error:
        log.warning("Microsoft connection for person %s failed: %s", person.id, error)
        abort(502, "Microsoft did not accept the sign-in. Start again from your page.")
    personal = is_personal_account(blob)
    connection = _save_oauth(
        person, pending, "microsoft", username, username, seal_secret(blob)
    )
    connection.sync_state = {**connection.sync_state, "personal": personal}
    db.session.commit()
    return redirect(pending["back"] + "?notice=connected")


def _save_oauth(
    person: Person,
    pending: dict[str, Any],
    kind: str,
    url: str,
    account: str,
    secret: str,
) -> CalendarConnection:
    connection = _reconnecting(person, str(pending.get("connection") or ""))
    if connection is None or connection.kind != kind:
        connection = CalendarConnection(person=person, kind=kind)
        db.session.add(connection)
    connection.url, connection.account, connection.secret = url, account, secret
    _reset(connection, {})
    record(f"link:{person.email}", "calendar.connect", person, kind=kind)
    db.session.commit()
    log.info("person %s connected a %s calendar", person.id, kind)
    return connection


# -- administrators ----------------------------------------------------------


@bp.route("/admin/calendars")
@login_required
def admin_list():
    """List every calendar connection the administrator may see."""
    query = db.select(CalendarConnection).join(Person).order_by(Person.name)
    if not current_user.organisation_wide:
        program_ids = [program.id for program in current_user.programs]
        members = db.select(Membership.person_id).filter(
            Membership.program_id.in_(program_ids)
        )
        query = query.filter(CalendarConnection.person_id.in_(members))
    connections = db.session.scalars(query).all()
    return render_template(
        "calendars/admin.html",
        connections=connections,
        provider_names=PROVIDER_NAMES,
        redact_url=redact_url,
    )
