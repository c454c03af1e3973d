#!/usr/bin/python3
"""A stand-in for systemd-logind on a private system bus (tests/lab/user_active.sh): the
org.freedesktop.login1.Manager idle-hint properties ppserver reads, and a test-only method to
switch them. Prints "ready" once it owns the name, and "read NAME" for every property read.

  DBUS_SYSTEM_BUS_ADDRESS=unix:path=SOCKET login1_standin.py
  dbus-send --system --print-reply --dest=org.freedesktop.login1 /org/freedesktop/login1 \\
      org.freedesktop.login1.LabControl.SetIdle boolean:IDLE double:SECONDS_AGO
"""
import time

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

MANAGER = "org.freedesktop.login1.Manager"


class Login1(dbus.service.Object):
    def __init__(self, bus):
        super().__init__(bus, "/org/freedesktop/login1")
        self.idle = True
        self.since_us = 0  # logind's 0: no session was ever in use

    def props(self):
        # IdleSinceHint is wall-clock time; ppserver reads the monotonic one.
        real = int(time.time() * 1e6 - time.monotonic() * 1e6 + self.since_us) if self.since_us else 0
        return {"IdleHint": dbus.Boolean(self.idle), "IdleSinceHint": dbus.UInt64(real),
                "IdleSinceHintMonotonic": dbus.UInt64(self.since_us)}

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="ss", out_signature="v")
    def Get(self, interface, name):
        props = self.props()
        if interface != MANAGER or name not in props:
            raise dbus.exceptions.DBusException(
                f"no property {interface}.{name}", name="org.freedesktop.DBus.Error.UnknownProperty")
        print("read", name, flush=True)
        return props[name]

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        return self.props() if interface == MANAGER else {}

    # Every session idle since SECONDS_AGO (IDLE true), or one in use now (IDLE false).
    @dbus.service.method("org.freedesktop.login1.LabControl", in_signature="bd")
    def SetIdle(self, idle, seconds_ago):
        self.idle = bool(idle)
        self.since_us = int((time.monotonic() - float(seconds_ago)) * 1e6)
        print("set idle" if self.idle else "set active", float(seconds_ago), flush=True)


DBusGMainLoop(set_as_default=True)
system_bus = dbus.SystemBus()  # DBUS_SYSTEM_BUS_ADDRESS
service = Login1(system_bus)
name = dbus.service.BusName("org.freedesktop.login1", system_bus)
print("ready", flush=True)
GLib.MainLoop().run()
