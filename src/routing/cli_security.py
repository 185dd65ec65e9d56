"""``routing token`` and ``routing keys``: development tokens, new keys, key rotation."""

from __future__ import annotations

import json
import os
import secrets
import shlex
import sys
import time
import uuid
from pathlib import Path
from typing import Annotated

import jwt
import typer
from pydantic import SecretStr
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from routing.access import ANY, Role
from routing.config import Environment, Settings
from routing.keys import MissingKeys, new_cipher_key, resolve_keys
from routing.reference.regions import load_regions

keys_app = typer.Typer(help="Cipher and pseudonym keys: new ones, rotation.", no_args_is_help=True)
console = Console(stderr=True)


def resolved_env() -> Settings:
    """The ROUTING_* settings, or every invalid variable on one line each and exit 2 (not a
    traceback from deep inside the first component that uses the value)."""
    # lazy: CLI start-up, a command loads only what it runs (cli.py docstring)
    from routing.operations import check

    settings, findings = check.load()
    if settings is None:
        for f in findings:
            console.print(f"[red]error[/] {f.variable}: {f.message}", highlight=False)
        console.print("(see `routing config check`)")
        raise typer.Exit(2)
    return settings


def resolved_settings(settings: Settings | None = None) -> Settings:
    """Settings with their keys (development: generated; production: required)."""
    try:
        return resolve_keys(settings or resolved_env())
    except MissingKeys as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None


def checkout_root() -> Path | None:
    """The source checkout this package runs from (an editable install, as ``scripts/``
    makes), or None for an installed wheel."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "scripts").is_dir() else None


def token_command() -> str:
    """How to run ``routing token`` from any directory without an activated venv: the
    ``routing`` script beside the running interpreter."""
    script = Path(sys.executable).parent / "routing"
    return shlex.quote(str(script)) + " token" if script.exists() else "routing token"


def dev_keys_file(data_dir: Path | None) -> Path:
    """Where the keys of the running development stack are: ``--data-dir``, else
    ROUTING_DEV_KEYS_PATH, else ``./var``, else the checkout's ``var/`` (``scripts/dev.sh``
    runs there). Never a new file: a key the server never saw only yields "token invalid"."""
    if data_dir is not None:
        candidates = [data_dir / "dev-keys.json"]
    elif "ROUTING_DEV_KEYS_PATH" in os.environ:
        candidates = [Path(os.environ["ROUTING_DEV_KEYS_PATH"])]
    else:
        candidates = [Path("var/dev-keys.json")]
        root = checkout_root()
        if root is not None:
            candidates.append(root / "var" / "dev-keys.json")
    for path in candidates:
        if path.is_file():
            return path
    console.print(
        f"[red]no development keys at {' or '.join(str(p) for p in candidates)}[/]: start the "
        "stack first (./scripts/dev.sh), or pass --data-dir (the stack's data directory)",
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(2)


def token_help() -> str:
    """``routing token --help``: with the command as it runs from any directory."""
    return (
        "Prints a development bearer token signed with the running development stack's key "
        "(found from any directory).\n\n"
        f'Example: curl -H "Authorization: Bearer $({token_command()} --role auditor)" '
        "localhost:8000/projections/episode-summary\n\n"
        "Bindings default to '*' (everything), which only a development server accepts."
    )


def _region_code(value: str) -> str:
    if value != ANY and value not in load_regions().counties:
        raise typer.BadParameter(
            f"{value!r} is not a region (län) code; known: {', '.join(load_regions().counties)}"
            " or '*'"
        )
    return value


def token_cmd(
    role: Annotated[list[Role], typer.Option(help="Role(s) the token carries.")],
    provider_id: Annotated[str, typer.Option(help="front_end binding (HSA-id).")] = ANY,
    care_region: Annotated[
        str, typer.Option(help="front_end binding (län code).", callback=_region_code)
    ] = ANY,
    region: Annotated[
        str, typer.Option(help="finance binding (län code).", callback=_region_code)
    ] = ANY,
    subject: Annotated[str, typer.Option(help="Who the token names (sub).")] = "developer",
    ttl: Annotated[int, typer.Option(min=60, help="Seconds until it expires.")] = 8 * 3600,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Data directory of `routing dev` (default: ./var, else the checkout's var/)."
        ),
    ] = None,
) -> None:
    """Prints a development bearer token signed with the running development stack's key."""
    settings = resolved_env()
    if settings.env is Environment.production:
        console.print("[red]production tokens come from the identity provider, not from here[/]")
        raise typer.Exit(2)
    if settings.auth_jwks_url is not None or settings.auth_jwks_file is not None:
        console.print("[red]a JWKS is configured: get tokens from its identity provider[/]")
        raise typer.Exit(2)
    if settings.auth_dev_secret is None:
        keys = json.loads(dev_keys_file(data_dir).read_text())
        settings = settings.model_copy(
            update={"auth_dev_secret": SecretStr(keys["auth_dev_secret"])}
        )
    assert settings.auth_dev_secret is not None
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": subject,
        "iss": settings.auth_issuer,
        "aud": settings.auth_audience,
        "iat": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
        "roles": [r.value for r in role],
    }
    if Role.front_end in role:
        claims |= {"provider_id": provider_id, "care_region": care_region}
    if Role.finance in role:
        claims["region"] = region
    typer.echo(jwt.encode(claims, settings.auth_dev_secret.get_secret_value(), algorithm="HS256"))


@keys_app.command("new")
def keys_new() -> None:
    """Prints a fresh AES-256 cipher key and a pseudonym key (for ROUTING_CIPHER_KEY and
    ROUTING_PSEUDONYM_KEY). Keep them in the secret store, never in the repository."""
    typer.echo(f"ROUTING_CIPHER_KEY={new_cipher_key()}")
    typer.echo(f"ROUTING_PSEUDONYM_KEY={secrets.token_urlsafe(48)}")


@keys_app.command("rotate")
def keys_rotate(
    include_plaintext: Annotated[
        bool, typer.Option(help="Also encrypt rows stored before encryption was switched on.")
    ] = False,
) -> None:
    """Re-encrypts every stored event under ROUTING_CIPHER_KEY; events under a key listed in
    ROUTING_CIPHER_OLD_KEYS are decrypted with it first. Safe to interrupt and run again."""
    # lazy: CLI start-up, a command loads only what it runs (cli.py docstring)
    from routing.persistence.rekey import PlaintextFound, rekey

    settings = resolved_settings()
    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=console,
    ) as bar:  # fmt: skip
        task = bar.add_task("re-encrypting stored events", total=None)
        try:
            count = rekey(
                settings,
                include_plaintext=include_plaintext,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        except (PlaintextFound, ValueError) as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from None
    console.print(
        f"re-encrypted {count.rewritten}, encrypted {count.plaintext_encrypted} plaintext, "
        f"{count.current} already under the current key"
    )
