"""Central error pages that never show internals."""

from __future__ import annotations

from flask import Flask, Response, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from web.extensions import db


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return render_template(
            "error.html", code=error.code, title=error.name, message=error.description
        ), error.code or 500

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_template(
            "error.html",
            code=400,
            title="Form expired",
            message="This form has expired. Go back, reload the page and try again.",
        ), 400

    @app.after_request
    def security_headers(response: Response) -> Response:
        # Link pages are one-button forms: never let another site frame them,
        # and never send their token-bearing URL on as a Referer.
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    @app.errorhandler(500)
    def server_error(error: Exception):
        db.session.rollback()
        return render_template(
            "error.html",
            code=500,
            title="Something went wrong",
            message="Nothing was changed. Try again in a minute.",
        ), 500
