"""Routine tasks: ``nox -s lint tests docs bench``."""

from __future__ import annotations

import glob

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

PLUGINS = sorted(glob.glob("plugins/byob-*"))


def _install(session: nox.Session) -> None:
    session.install(
        "-e", "./core", *[f"-e{p}[test]" for p in PLUGINS], "-r", "requirements-dev.txt"
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (check and format) over everything, mypy --strict over the core."""
    session.install(
        "ruff", "mypy", "attrs", "pluggy", "structlog", "fsspec", "tomlkit", "pytest", "hypothesis"
    )
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite; the fixtures start every local server it needs."""
    _install(session)
    session.run("bash", "scripts/setup.sh", external=True)  # Azurite from npm
    session.run("pytest", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation with mkdocs in strict mode."""
    _install(session)
    session.run("mkdocs", "build", "--strict")


@nox.session
def bench(session: nox.Session) -> None:
    """Run every benchmark in benchmarks/ and print their figures and ratios."""
    _install(session)
    # One runner, one table: each script still runs in its own interpreter.
    # ``nox -s bench -- --quick`` passes --quick on to every script that takes it.
    session.run("python", "benchmarks/run_all.py", *session.posargs)
