"""Central error pages that never show internals."""

from __future__ import annotations

from flask import Flask, render_template
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

    @app.errorhandler(500)
    def server_error(error: Exception):
        db.session.rollback()
        return render_template(
            "error.html",
            code=500,
            title="Something went wrong",
            message="Nothing was changed. Try again in a minute.",
        ), 500
