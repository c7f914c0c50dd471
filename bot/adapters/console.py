"""A chat with one local viewer on stdin and stdout: the demo's platform, no token needed."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar, TextIO

from bot.adapters.base import Core, Limits, Recipient
from bot.messages import Attachment, Command, Message, Reply, parse_command

CHAT_ID = "console"


class ConsoleAdapter:
    """Reads commands from stdin, prints replies and reminders to stdout."""

    platform: ClassVar[str] = "console"
    limits: Limits = Limits(100_000, 100, 100, 10_000)

    def __init__(
        self,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        *,
        locale: str | None = None,
        on_eof: Callable[[], None] | None = None,
        listen_at_start: bool = True,
        files_dir: str | Path | None = None,
    ) -> None:
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.locale = locale
        self.on_eof = on_eof
        self.listen_at_start = listen_at_start
        # Where attachments are saved; None: a temporary directory made at the first one.
        self.files_dir = Path(files_dir) if files_dir is not None else None
        self._echo = not self.stdin.isatty()  # piped commands are shown, as if typed
        self._task: asyncio.Task[None] | None = None
        self._core: Core | None = None
        self._color = self.stdout.isatty()

    async def start(self, core: Core) -> None:
        """Start taking commands; stdin is read once `listen` is called (or at once)."""
        self._core = core
        if self.listen_at_start:
            self.listen()

    def listen(self) -> None:
        """Start reading lines from stdin in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._read_loop(), name="console-stdin")

    async def stop(self) -> None:
        """Stop reading."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def type(self, line: str) -> None:
        """Act as if the viewer typed `line` (the demo's scripted first steps)."""
        self._print(f"> {line}")
        await self._handle(line)

    async def _read_loop(self) -> None:
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str] = asyncio.Queue()

        def pump() -> None:
            # A daemon thread: a blocking read of a terminal must not keep the process alive.
            for line in iter(self.stdin.readline, ""):
                loop.call_soon_threadsafe(lines.put_nowait, line)
            loop.call_soon_threadsafe(lines.put_nowait, "")

        threading.Thread(target=pump, name="console-stdin", daemon=True).start()
        while True:
            line = await lines.get()
            if not line:
                if self.on_eof is not None:
                    self.on_eof()
                return
            if line.strip():
                if self._echo:
                    self._print(f"> {line.strip()}")
                await self._handle(line)

    async def _handle(self, line: str) -> None:
        parsed = parse_command(line)
        if parsed is None or self._core is None:
            return
        name, args, rest = parsed
        command = Command(
            self.platform, CHAT_ID, CHAT_ID, name, args, rest, locale_hint=self.locale
        )
        reply = await self._core.on_command(command)
        if reply is not None:
            self.show_reply(reply)

    def show_reply(self, reply: Reply) -> None:
        """Print every message of a reply."""
        for message in reply.messages:
            self._show(message)

    def render(self, message: Message) -> str:
        """A message as console text: bold title, body, links, buttons as commands to type."""
        lines = []
        if message.title:
            lines.append(f"\033[1m{message.title}\033[0m" if self._color else message.title)
        lines.append(message.text)
        # A link the text already shows is not repeated.
        lines.extend(
            f"  {link.as_text()}" for link in message.links if link.url not in message.text
        )
        for row in message.buttons:
            lines.append("  " + "   ".join(f"[{b.label}: /{b.action}]" for b in row))
        return "\n".join(lines)

    def _show(self, message: Message) -> None:
        """Print a message; its attachment is saved as a file and its path printed."""
        text = self.render(message)
        if message.attachment is not None:
            text += f"\n  📎 {self.save(message.attachment)}"
        self._print(text)

    def save(self, attachment: Attachment) -> Path:
        """Write an attachment into `files_dir` and return its path."""
        if self.files_dir is None:
            # Left in place when the bot stops: the viewer opens the file afterwards.
            self.files_dir = Path(tempfile.mkdtemp(prefix="summit-bot-files-"))
        self.files_dir.mkdir(parents=True, exist_ok=True)
        path = self.files_dir / Path(attachment.filename).name  # never outside the directory
        path.write_bytes(attachment.data)
        return path

    def _print(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)
        print(file=self.stdout, flush=True)

    async def send(self, to: Recipient, message: Message, *, key: str) -> None:
        """Print a reminder or broadcast."""
        self._show(message)
