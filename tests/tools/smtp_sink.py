"""A real SMTP server (PyPI aiosmtpd) for Akashi's mail tests: it accepts
every message on 127.0.0.1:<port> and writes each one, as received, to
<dir>/<n>.eml. Runs until killed.

    python smtp_sink.py <port> <dir>
"""
import asyncio, pathlib, sys, time
from aiosmtpd.controller import Controller

port, out = int(sys.argv[1]), pathlib.Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)

class Sink:
    async def handle_DATA(self, server, session, envelope):
        n = len(list(out.glob("*.eml")))
        (out / f"{n:04d}.eml").write_bytes(envelope.original_content)
        return "250 OK"

controller = Controller(Sink(), hostname="127.0.0.1", port=port)
controller.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
