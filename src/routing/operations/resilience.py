# Over 300 lines because the store and broker policies share one backoff and one failure name.
"""One retry policy for a store, and one for a broker, that is briefly gone, shared by every
process (relay, ingest, projection runners).

A PostgreSQL restart (a failover, an upgrade, a crash) cuts every connection; for a few
seconds new ones are refused. Nothing is wrong with the process, so it must not exit: the
pools (psycopg's, under the library's store and the read models) replace broken connections,
and what failed in the meantime is tried again with backoff (tenacity) until the store answers,
while the process's ``/ready`` says 503 (its store check fails). The API does not wait: a
request that meets the outage is answered 503 with ``Retry-After`` (api/errors.py), and the
client retries; its event id makes the retry idempotent.

What counts as transient: the connection-level errors of psycopg (``OperationalError``,
``InterfaceError``, which include a pool's ``PoolTimeout``, ``AdminShutdown`` and
``CannotConnectNow``), the eventsourcing library's wrappers of them, and SQLAlchemy's (the
read models: ``OperationalError``/``InterfaceError`` over psycopg's, any ``DBAPIError`` that
invalidated its connection, a pool's ``TimeoutError``). A constraint or a programming error
is not retried: it would fail the same way again.

A broker that is gone (stopped, restarting, replaced) is waited for the same way, with the
same backoff: :func:`through_broker_outage` (``BROKER_ERRORS``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import psycopg
from aiokafka.errors import KafkaError
from eventsourcing import persistence
from prometheus_client import Counter
from sqlalchemy import exc as sa_exc
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry,
    retry_if_exception,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential_jitter,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

TRANSIENT: tuple[type[Exception], ...] = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    persistence.OperationalError,
    persistence.InterfaceError,
    sa_exc.DBAPIError,
    sa_exc.TimeoutError,
)

RETRY_AFTER_SECONDS = 5
"""What the API tells a client to wait (``Retry-After``) when the store is unavailable: a
restart of PostgreSQL takes a few seconds, and the pools reconnect within a second or two of
its return."""

RECONNECT_SECONDS = 2.0
"""How long a psycopg pool keeps trying to replace a lost connection in the background. Its
delays double from 1 s without a bound, so after a longer outage its next try could come a
minute after the server is back; given up early, the next call that wants a connection makes
a new one at once."""

WAIT = wait_exponential_jitter(multiplier=0.2, max=2.0, jitter=0.2)
"""Backoff between attempts: 0.2 s doubling to at most 2 s, so a process notices the store's
(or the broker's) return within about 2 s, and a hundred processes do not all knock at the
same instant."""

RESTARTS = Counter(
    "routing_worker_store_retries_total",
    "Times a worker met an unavailable store and tried again after a backoff (its step, "
    "or its whole loop).",
    ["worker"],
)


def is_transient(exc: BaseException) -> bool:
    """True for the errors of a PostgreSQL server that is unreachable or restarting. The
    library's and SQLAlchemy's wrappers count when they wrap psycopg's (or SQLAlchemy saw the
    connection die): on SQLite the same wrapper carries "no such table" or "disk I/O error",
    which waiting does not cure."""
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError | sa_exc.TimeoutError):
        return True
    if isinstance(exc, sa_exc.DBAPIError):  # SQLAlchemy's wrapper: by what it wraps
        return exc.connection_invalidated or isinstance(
            exc.orig, psycopg.OperationalError | psycopg.InterfaceError
        )
    return isinstance(exc, TRANSIENT) and isinstance(
        exc.__cause__, psycopg.OperationalError | psycopg.InterfaceError
    )


BRIEF_SECONDS = 3.0
"""How long a single store call (what a request waits on) is tried before its error goes up."""

F = TypeVar("F", bound=Callable[..., Any])


def briefly(fn: F, before_retry: Callable[[RetryCallState], None] | None = None) -> F:
    """Retries ``fn`` on a transient error for at most ``BRIEF_SECONDS``: after a restart the
    pooled connections are broken ("the connection is lost"), ``before_retry`` can have the
    pool replace them, and the call succeeds on a fresh one; while the server is away the
    error goes up instead of holding the caller (the API answers 503 at once; a worker starts
    again with backoff)."""
    policy = retry(
        retry=retry_if_exception(is_transient),
        stop=stop_after_delay(BRIEF_SECONDS),
        wait=wait_exponential_jitter(multiplier=0.05, max=0.5, jitter=0.05),
        before_sleep=before_retry,
        reraise=True,
    )
    return cast(F, policy(fn))


async def supervise(
    name: str, run: Callable[[asyncio.Event], Awaitable[None]], stop: asyncio.Event
) -> None:
    """Runs a worker's ``run(stop)``; when the store fails it transiently, waits (backoff) and
    runs it again, until ``stop`` is set. Other errors end the process, as before.

    Starting the worker again is how it resumes correctly: relay, ingest and projection
    runners read where they are from the store when they start (relay progress, tracking
    records, projection positions), and each of their steps is one store transaction, so a
    step cut off by the outage is either stored or done again.
    """
    try:
        await persevere(name, lambda: run(stop), stop)
    except TRANSIENT as exc:
        if not (stop.is_set() and is_transient(exc)):
            raise
        log.warning("%s: stopped while the store was unavailable (%s)", name, _why(exc))


async def persevere(
    name: str, attempt: Callable[[], Awaitable[T]], stop: asyncio.Event | None = None
) -> T:
    """``await attempt()`` until it ends without a transient store error (or ``stop`` is set:
    then the last error is raised). For whole jobs that start over cleanly: a worker's run,
    a rebuild (which begins by dropping its half-built tables)."""

    async def pause(seconds: float) -> None:
        if stop is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)

    def stopping(_: RetryCallState) -> bool:
        return stop is not None and stop.is_set()

    retrying = AsyncRetrying(
        retry=retry_if_exception(is_transient),
        wait=WAIT,
        stop=stopping,
        sleep=pause,
        before_sleep=_logged(name),
        reraise=True,
    )
    async for trial in retrying:
        with trial:
            result = await attempt()
    return result


PATIENT_SECONDS = 20.0
"""How long a worker's step waits in place for the store (:func:`patiently`): longer than a
restart takes, shorter than a shutdown's grace period (Kubernetes: 30 s)."""


def patiently(fn: F) -> F:
    """For a worker's step that is one store transaction and safe to repeat (a projection's
    page, reading its position): tried again in place, with backoff, for up to
    ``PATIENT_SECONDS``. The worker keeps its Kafka group membership through a restart (a
    consumer started again waits for the group to rebalance: 3 s with the bundled broker and
    our 6 s session, ``broker.SESSION_TIMEOUT_MS``);
    past that the error goes up and :func:`supervise` starts the worker again."""
    policy = retry(
        retry=retry_if_exception(is_transient),
        wait=WAIT,
        stop=stop_after_delay(PATIENT_SECONDS),
        before_sleep=_logged(getattr(fn, "__qualname__", "store call"), "trying again"),
        reraise=True,
    )
    return cast(F, policy(fn))


async def in_place(name: str, attempt: Callable[[], Awaitable[T]]) -> T:
    """:func:`patiently` for an async step: ``await attempt()`` again after a transient store
    error, with backoff, for up to ``PATIENT_SECONDS``. For a step that reads where it is from
    the store on each attempt (the ingest consumer's page: a transaction cut off in flight is
    either stored, and then skipped, or done again), so the worker keeps its consumer."""
    retrying = AsyncRetrying(
        retry=retry_if_exception(is_transient),
        wait=WAIT,
        stop=stop_after_delay(PATIENT_SECONDS),
        before_sleep=_logged(name, "trying again"),
        reraise=True,
    )
    async for trial in retrying:
        with trial:
            result = await attempt()
    return result


def persevering(name: str) -> Callable[[F], F]:
    """:func:`persevere` for a synchronous job that starts over cleanly (a replay from the
    store empties its scratch tables first): tried until it ends without a transient store
    error; Ctrl-C stops it."""
    policy = retry(
        retry=retry_if_exception(is_transient),
        wait=WAIT,
        before_sleep=_logged(name),
        reraise=True,
    )
    return cast(Callable[[F], F], policy)


class ClientCancelledError(Exception):
    """A Kafka client raised CancelledError though nobody cancelled the task that called it.

    aiokafka does so after a broker loss: ``AIOKafkaConsumer.stop()`` awaits a fetch it has
    just cancelled, which re-raises when it was sleeping its retry backoff
    (aio-libs/aiokafka#647). Passed on as it is, it would end the worker's task as if it had
    been stopped: a relay that stops relaying, without a word."""


BROKER_ERRORS: tuple[type[Exception], ...] = (
    KafkaError, OSError, TimeoutError, ClientCancelledError,
)  # fmt: skip
"""What a broker that is away (stopped, restarting, replaced) raises at a Kafka client: the
client's errors, a refused or reset connection, a request that timed out, a cancellation the
client made up."""


def cancelled_by_us() -> bool:
    """Whether the running task has been asked to cancel (its own stop, Ctrl-C, a timeout):
    a CancelledError then is ours to pass on; otherwise a library raised it from within."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def _uncancelled(attempt: Callable[[], Awaitable[T]]) -> T:
    """``await attempt()``, a CancelledError the task did not ask for turned into
    :class:`ClientCancelledError` (a broker error, tried again)."""
    try:
        return await attempt()
    except asyncio.CancelledError as exc:
        if cancelled_by_us():
            raise
        raise ClientCancelledError("a Kafka client raised CancelledError on its own") from exc


async def through_broker_outage(
    name: str, attempt: Callable[[], Awaitable[T]], stop: asyncio.Event, logger: logging.Logger
) -> T | None:
    """``await attempt()`` until it ends without a broker error, waiting ``WAIT`` (the store's
    backoff) between attempts, each failure logged on the process's own ``logger``; None when
    ``stop`` is set meanwhile. The one policy of relay, ingest and projection runners for a
    broker that is away: not an error of the process (it must not exit), and a broker back
    after a restart is noticed within about 2 s. ``attempt`` leaves no half-started client
    behind when it fails (the relay drops its producer; a consumer is made afresh)."""

    try:  # the common case, a broker that answers, without building a policy per call
        return await _uncancelled(attempt)
    except BROKER_ERRORS as exc:
        failed: BaseException | None = exc

    async def again() -> T:
        nonlocal failed
        if failed is not None:  # tenacity's first attempt is the one that just failed
            exc, failed = failed, None
            raise exc
        return await _uncancelled(attempt)

    async def pause(seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)

    def logged(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "%s: broker unavailable (%s); trying again in %.1f s (attempt %d)",
            name, _why(exc), wait, state.attempt_number,
        )  # fmt: skip

    retrying = AsyncRetrying(
        retry=retry_if_exception_type(BROKER_ERRORS),
        wait=WAIT,
        stop=lambda _: stop.is_set(),
        sleep=pause,
        before_sleep=logged,
        reraise=True,
    )
    try:
        async for trial in retrying:
            with trial:
                result = await again()
    except BROKER_ERRORS as exc:  # raised only once ``stop`` is set
        logger.warning("%s: stopped while the broker was unavailable (%s)", name, _why(exc))
        return None
    return result


def _logged(name: str, doing: str = "starting again") -> Callable[[RetryCallState], None]:
    def logged(state: RetryCallState) -> None:
        RESTARTS.labels(name).inc()
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "%s: store unavailable (%s); %s in %.1f s (attempt %d)",
            name, _why(exc), doing, wait, state.attempt_number,
        )  # fmt: skip

    return logged


def _why(exc: Any) -> str:
    if exc is None:
        return "?"
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
