"""``flask --app app catalog import FILE [--dry-run] | export FILE``: the same services as the catalog pages."""
from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import AppGroup

catalog_cli = AppGroup("catalog", help="The product catalog (DOMAIN.md §12 (a)).")


def _where(error) -> str:
    place = f"{error.sheet}!{error.cell}" if error.sheet else error.cell
    details = ", ".join(str(x) for x in (error.header,) if x)
    return f"{place} ({details})" if details else place


def _line(error) -> str:
    text = f"{_where(error)} [{error.code}] {error.message}"
    if error.hint:
        text += f" → {error.hint}"
    return text


@catalog_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="check every row, store nothing")
@click.option("--report", type=click.Path(dir_okay=False),
              help="when the file has errors, write it here as a workbook with the bad cells marked")
def catalog_import(file: str, dry_run: bool, report: str | None) -> None:
    """Import FILE (.xlsx/.xls/.ods/.csv): every row or nothing. Exit 0 when stored (or, with --dry-run,
    when the file is valid); 1 with the errors, one per line, on stderr."""
    from app.catalog.services import import_catalog
    from app.core.tx import transaction
    from app.spreadsheets import Limits, SpreadsheetError, error_report_workbook

    with open(file, "rb") as fh:
        data = fh.read()
    name = os.path.basename(file)
    limits = Limits(max_bytes=current_app.config["UPLOAD_MAX_BYTES"])
    try:
        with transaction():
            result = import_catalog(data, name, actor=None, dry_run=dry_run, limits=limits)
    except SpreadsheetError as err:
        click.echo(f"{name}: {err.message}" + (f" → {err.hint}" if err.hint else ""), err=True)
        sys.exit(1)
    for warning in result.warnings:
        click.echo("warning: " + _line(warning), err=True)
    if result.errors:
        for error in result.errors:
            click.echo(_line(error), err=True)
        for notice in result.notices:
            click.echo(str(notice.message), err=True)
        click.echo(f"{name}: {len(result.errors)} error(s), nothing stored", err=True)
        if report:
            with open(report, "wb") as fh:
                fh.write(error_report_workbook(data, name, result.errors, notices=result.notices, limits=limits))
            click.echo(f"error report written to {report}", err=True)
        sys.exit(1)
    verb = "checked (dry run, nothing stored)" if dry_run else "stored"
    click.echo(f"{name}: {result.rows} rows {verb}: {result.created} products created, {result.updated} updated, "
               f"{result.manufacturers_created} manufacturers registered, sha256 {result.sha256}")


@catalog_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default=None,
              help="default: from the file's extension (xlsx unless .csv)")
def catalog_export(file: str, fmt: str | None) -> None:
    """Write the whole catalog to FILE in the canonical import format."""
    from app.catalog.services import export_catalog

    fmt = fmt or ("csv" if file.lower().endswith(".csv") else "xlsx")
    data = export_catalog(fmt)
    with open(file, "wb") as fh:
        fh.write(data)
    click.echo(f"catalog written to {file} ({fmt}, {len(data)} bytes)")
