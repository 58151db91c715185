"""A freedesktop notification service for tests.

Owns org.freedesktop.Notifications on the bus named by DBUS_SESSION_BUS_ADDRESS, as a desktop's
notification daemon would, and writes each Notify call it receives as one JSON line to the file
given as its argument. Prints "ready" once it owns the name.

usage: notification_recorder.py OUT_FILE
"""
import asyncio
import json
import sys

from dbus_next import RequestNameReply
from dbus_next.aio import MessageBus
from dbus_next.service import ServiceInterface, method

NAME = "org.freedesktop.Notifications"


class Notifications(ServiceInterface):
    def __init__(self, out):
        super().__init__(NAME)
        self.out = out
        self.last_id = 0

    @method()
    def GetCapabilities(self) -> "as":
        # body-markup: a real daemon that renders markup, so pushctl must escape the text.
        return ["body", "body-markup"]

    @method()
    def Notify(
        self,
        app_name: "s",
        replaces_id: "u",
        app_icon: "s",
        summary: "s",
        body: "s",
        actions: "as",
        hints: "a{sv}",
        expire_timeout: "i",
    ) -> "u":
        self.last_id += 1
        record = {
            "app_name": app_name,
            "app_icon": app_icon,
            "summary": summary,
            "body": body,
            "actions": actions,
            "hints": sorted(hints),
        }
        self.out.write(json.dumps(record) + "\n")
        self.out.flush()
        return self.last_id

    @method()
    def CloseNotification(self, notification_id: "u"):
        pass

    @method()
    def GetServerInformation(self) -> "ssss":
        return ["notification-recorder", "pushd tests", "1", "1.2"]


async def main(out_path):
    bus = await MessageBus().connect()
    with open(out_path, "a", encoding="utf-8") as out:
        bus.export("/org/freedesktop/Notifications", Notifications(out))
        reply = await bus.request_name(NAME)
        if reply != RequestNameReply.PRIMARY_OWNER:
            sys.exit(f"could not own {NAME}: {reply}")
        print("ready", flush=True)
        await bus.wait_for_disconnect()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
