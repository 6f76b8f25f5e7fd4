"""The ``airrc`` command line: one module per command group. Errors print their code and one line, and exit
non-zero."""

from __future__ import annotations

import os
import sys
import tomllib

import typer

from airrc.cli import _help, control, exchange, hotline, ledger, media, node, standards
from airrc.cli._common import err
from airrc.errors import Error

__all__ = ["app", "main"]

_help.install()

app = typer.Typer(no_args_is_help=True, add_completion=False, help="airrc: AI Risk Reduction Center node.")
app.command()(node.init)
app.command()(node.serve)
app.add_typer(node.card_app, name="card")
app.add_typer(node.peer_app, name="peer")
app.add_typer(node.user_app, name="user")
app.add_typer(node.service_app, name="service")
app.add_typer(node.token_app, name="token")
app.add_typer(node.db_app, name="db")
app.add_typer(node.alerts_app, name="alerts")
app.add_typer(ledger.ledger_app, name="ledger")
app.add_typer(ledger.federation_app, name="federation")
app.add_typer(control.control_app, name="control")
app.add_typer(hotline.hotline_app, name="hotline")
app.add_typer(exchange.report_app, name="report")
app.add_typer(exchange.stix_app, name="stix")
app.add_typer(exchange.atlas_app, name="atlas")
app.add_typer(exchange.taxii_app, name="taxii")
app.add_typer(media.media_app, name="media")
app.add_typer(standards.standards_app, name="standards")
app.add_typer(standards.eval_app, name="eval")


# The command line's own errors, by the class typer's click raises.
_USAGE_CODES = {
    "NoSuchOption": "cli.no_such_option",
    "BadOptionUsage": "cli.bad_option",
    "MissingParameter": "cli.missing_value",
    "BadParameter": "cli.bad_value",
    "BadArgumentUsage": "cli.bad_argument",
    "UsageError": "cli.usage",
    "FileError": "cli.file",
}


def usage_diagnostics(exc: Exception) -> str:
    """A usage error in the ``error[code]`` form every other error uses, with where to find help."""
    code = next(
        (_USAGE_CODES[cls.__name__] for cls in type(exc).__mro__ if cls.__name__ in _USAGE_CODES), "cli.error"
    )
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    lines = [f"error[{code}]: {message}"]
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        lines.append(f"try '{ctx.command_path} --help'")
    return "\n".join(lines)


def main() -> None:
    # Everything this process writes (database, keys, cards, evaluation logs, backups) is the owner's only.
    os.umask(0o077)
    try:
        code = app(standalone_mode=False, prog_name="airrc")
    except Error as exc:
        err.print(exc.diagnostics(), markup=False, highlight=False)
        sys.exit(1)
    except (typer.Abort, KeyboardInterrupt):
        err.print("aborted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        import click
        from pydantic import ValidationError

        # typer vendors its own click; its usage errors are not click's classes, so test by shape.
        if isinstance(exc, click.ClickException) or (hasattr(exc, "show") and hasattr(exc, "exit_code")):
            err.print(usage_diagnostics(exc), markup=False, highlight=False, soft_wrap=True)
            sys.exit(exc.exit_code)
        if isinstance(exc, tomllib.TOMLDecodeError):
            err.print(f"error[config.bad_file]: the home's airrc.toml is not valid TOML: {exc}", markup=False)
            sys.exit(1)
        if isinstance(exc, ValidationError):
            err.print(
                f"error[config.invalid]: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}", markup=False
            )
            sys.exit(1)
        raise
    # Without standalone mode click returns the code of a typer.Exit instead of exiting.
    if isinstance(code, int) and code:
        sys.exit(code)
