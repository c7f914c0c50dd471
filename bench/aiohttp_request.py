"""A python-telegram-bot transport on aiohttp, to measure what httpx costs per request.

Not used by the bot: the adapter builds PTB's own `HTTPXRequest`. The benchmarks swap this in
(`--transport aiohttp`) to show how much of the CPU per message is the HTTP client's.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    """PTB's BaseRequest over one aiohttp session with a bounded connection pool."""

    def __init__(self, connection_pool_size: int = 16, timeout: float = 10.0) -> None:
        self._pool = connection_pool_size
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The default read time-out, in seconds."""
        return self._timeout

    async def initialize(self) -> None:
        """Open the session."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        """Close the session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """One Bot API call: (HTTP status, body)."""
        if self._session is None:
            raise RuntimeError("AiohttpRequest is not initialized")
        read = self._timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        data: Any = None
        if request_data is not None:
            if request_data.contains_files:
                form = aiohttp.FormData()
                for key, value in request_data.json_parameters.items():
                    form.add_field(key, value)
                for key, (name, content, mime) in request_data.multipart_data.items():
                    form.add_field(key, content, filename=name, content_type=mime)
                data = form
            else:
                data = request_data.json_parameters
        timeout = aiohttp.ClientTimeout(total=None, sock_read=read, connect=self._timeout)
        try:
            async with self._session.request(method, url, data=data, timeout=timeout) as res:
                return res.status, await res.read()
        except TimeoutError as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err
