"""jicai (集采): volume-based procurement and listed-price governance.

``create_app`` reads like a table of contents: configuration, extensions, blueprints, error
handlers, CLI commands.
"""
from __future__ import annotations

import os
from typing import Any

from flask import Flask

from app.config import ENV_KEYS, Defaults, instance_secret_key, normalise_database_url


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask application."""
    app = Flask(__name__, instance_relative_config=True, instance_path=_instance_path())
    configure(app, test_config)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_request_hooks(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def _instance_path() -> str:
    # instance/ at the repository root (beside app/), overridable for deployments.
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.environ.get("JICAI_INSTANCE_PATH", os.path.join(root, "instance"))


def configure(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Defaults, then ``instance/config.py``, then the environment, then ``test_config``."""
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    for key in ENV_KEYS:
        if os.environ.get(key):
            app.config[key] = os.environ[key]
    if test_config:
        app.config.update(test_config)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = "sqlite:///" + os.path.join(app.instance_path, "jicai.sqlite3")
    app.config["DATABASE_URL"] = normalise_database_url(app.config["DATABASE_URL"])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)


def register_extensions(app: Flask) -> None:
    from app.extensions import babel, csrf, db, login_manager
    from app.i18n import select_locale, select_timezone

    db.init_app(app)
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=os.path.join(app.root_path, "translations"),
    )
    login_manager.init_app(app)
    from app.auth import security  # noqa: F401  - registers the user and request loaders

    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"


def register_blueprints(app: Flask) -> None:
    from app.blueprints import BLUEPRINTS

    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)


def register_error_handlers(app: Flask) -> None:
    from app.main.errors import register

    register(app)


def register_request_hooks(app: Flask) -> None:
    from app.core.request import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from app.core.templating import register

    register(app)


def register_commands(app: Flask) -> None:
    from app.commands import register

    register(app)
