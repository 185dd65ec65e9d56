"""``routing token`` and ``routing keys``: development tokens, new keys, key rotation."""

from __future__ import annotations

import secrets
import time
import uuid
from pathlib import Path
from typing import Annotated

import jwt
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from routing.access import ANY, Role
from routing.config import Environment, Settings
from routing.keys import MissingKeys, new_cipher_key, resolve_keys

keys_app = typer.Typer(help="Cipher and pseudonym keys: new ones, rotation.", no_args_is_help=True)
console = Console(stderr=True)


def resolved_settings(settings: Settings | None = None) -> Settings:
    """Settings with their keys (development: generated; production: required)."""
    try:
        return resolve_keys(settings or Settings())
    except MissingKeys as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None


def token_cmd(
    role: Annotated[list[Role], typer.Option(help="Role(s) the token carries.")],
    provider_id: Annotated[str, typer.Option(help="front_end binding (HSA-id).")] = ANY,
    care_region: Annotated[str, typer.Option(help="front_end binding (län code).")] = ANY,
    region: Annotated[str, typer.Option(help="finance binding (län code).")] = ANY,
    subject: Annotated[str, typer.Option(help="Who the token names (sub).")] = "developer",
    ttl: Annotated[int, typer.Option(min=60, help="Seconds until it expires.")] = 8 * 3600,
    data_dir: Annotated[Path, typer.Option(help="Where `routing dev` keeps its keys.")] = Path(
        "var"
    ),
) -> None:
    """Prints a development bearer token signed with the local development key.

    Example: curl -H "Authorization: Bearer $(routing token --role auditor)" localhost:8000/...
    Bindings default to '*' (everything), which only a development server accepts."""
    settings = Settings(dev_keys_path=data_dir / "dev-keys.json")
    if settings.env is Environment.production:
        console.print("[red]production tokens come from the identity provider, not from here[/]")
        raise typer.Exit(2)
    settings = resolved_settings(settings)
    if settings.auth_dev_secret is None:
        console.print("[red]a JWKS is configured: get tokens from its identity provider[/]")
        raise typer.Exit(2)
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
    from routing.episodes.rekey import PlaintextFound, rekey

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
