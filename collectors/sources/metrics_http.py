"""Fetch a ``/metrics`` body over HTTP: the text, or a typed failure saying what went wrong.

Only I/O lives here; parsing is :mod:`collectors.parsing.metrics`. The caller owns the
``aiohttp.ClientSession`` (one for all targets).
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from collectors.models.metrics import FailureKind

# A 100-farm farmer body is about 2 MB; anything far larger is not a metrics page.
MAX_BODY_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class FetchOk:
    text: str


@dataclass(frozen=True, slots=True)
class FetchFailure:
    kind: FailureKind
    message: str


FetchResult = FetchOk | FetchFailure


async def fetch_metrics(
    session: aiohttp.ClientSession, url: str, timeout_seconds: float
) -> FetchResult:
    """GET ``url`` within ``timeout_seconds`` (connect and whole body). Never raises for I/O."""
    timeout = aiohttp.ClientTimeout(total=timeout_seconds)
    try:
        async with session.get(
            url, timeout=timeout, headers={"Accept": "text/plain"}, allow_redirects=True
        ) as response:
            if response.status != 200:
                reason = response.reason or ""
                return FetchFailure(
                    FailureKind.HTTP_ERROR, f"HTTP {response.status} {reason}".strip()
                )
            content_type = response.headers.get("Content-Type", "").lower()
            if "text/html" in content_type:
                return FetchFailure(
                    FailureKind.NOT_METRICS,
                    "the endpoint answered with an HTML page, not metrics"
                    " (is the URL the /metrics path?)",
                )
            if response.content_length is not None and response.content_length > MAX_BODY_BYTES:
                return FetchFailure(
                    FailureKind.NOT_METRICS, f"body of {response.content_length} bytes is too big"
                )
            chunks: list[bytes] = []
            size = 0
            # Raises ClientPayloadError when the body ends before its declared length.
            async for chunk in response.content.iter_chunked(256 * 1024):
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    return FetchFailure(FailureKind.NOT_METRICS, "body too big for a metrics page")
                chunks.append(chunk)
            body = b"".join(chunks)
            charset = response.charset or "utf-8"
            openmetrics = "openmetrics" in content_type
    except TimeoutError:
        return FetchFailure(FailureKind.TIMEOUT, f"no answer within {timeout_seconds:g} s")
    except aiohttp.ClientConnectorError as exc:
        return FetchFailure(FailureKind.UNREACHABLE, f"cannot connect: {exc.os_error or exc}")
    except aiohttp.ClientPayloadError as exc:
        return FetchFailure(FailureKind.DROPPED, f"the connection broke mid-body: {exc}")
    except aiohttp.ServerDisconnectedError:
        return FetchFailure(FailureKind.DROPPED, "the server closed the connection")
    except aiohttp.InvalidURL as exc:
        return FetchFailure(FailureKind.UNREACHABLE, f"invalid URL: {exc}")
    except (aiohttp.ClientError, OSError) as exc:
        return FetchFailure(FailureKind.UNREACHABLE, f"{type(exc).__name__}: {exc}")
    try:
        text = body.decode(charset, errors="strict")
    except (UnicodeDecodeError, LookupError):
        return FetchFailure(FailureKind.NOT_METRICS, "the body is not text (undecodable bytes)")
    # OpenMetrics bodies end with "# EOF"; without it the body was cut short.
    if openmetrics and not text.rstrip().endswith("# EOF"):
        return FetchFailure(FailureKind.DROPPED, "the body ended early (no '# EOF' line)")
    return FetchOk(text)
