#!/usr/bin/python3
"""A stand-in for systemd-logind on a private system bus (tests/lab/user_active.sh): what
ppserver reads of org.freedesktop.login1 (Manager.ListSessions; each session's Type, IdleHint,
IdleSinceHintMonotonic), and a test-only method to switch the desktop session's idle hint.
Two sessions, as on a desktop with someone logged in over ssh: "1", x11 on seat0, idle and
never in use at first; "c5", a remote tty session without a seat that logind never calls idle.
Prints "ready" once it owns the name, and "read Session IdleHint" for every such read.

  DBUS_SYSTEM_BUS_ADDRESS=unix:path=SOCKET login1_standin.py
  dbus-send --system --print-reply --dest=org.freedesktop.login1 /org/freedesktop/login1 \\
      org.freedesktop.login1.LabControl.SetIdle boolean:IDLE double:SECONDS_AGO
"""
import time

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

ROOT = "/org/freedesktop/login1"
SESSION = "org.freedesktop.login1.Session"


class Session(dbus.service.Object):
    def __init__(self, bus, sid, seat, kind, idle, since_us):
        self.path = f"{ROOT}/session/{sid}"
        super().__init__(bus, self.path)
        self.sid, self.seat, self.kind, self.idle, self.since_us = sid, seat, kind, idle, since_us

    def props(self):
        # IdleSinceHint is wall-clock time; ppserver reads the monotonic one.
        real = int(time.time() * 1e6 - time.monotonic() * 1e6 + self.since_us) if self.since_us else 0
        return {"Id": self.sid, "Type": self.kind, "IdleHint": dbus.Boolean(self.idle),
                "IdleSinceHint": dbus.UInt64(real), "IdleSinceHintMonotonic": dbus.UInt64(self.since_us),
                "Seat": dbus.Struct((self.seat, dbus.ObjectPath(f"{ROOT}/seat/{self.seat or 'none'}")),
                                    signature="so")}

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="ss", out_signature="v")
    def Get(self, interface, name):
        props = self.props()
        if interface != SESSION or name not in props:
            raise dbus.exceptions.DBusException(
                f"no property {interface}.{name}", name="org.freedesktop.DBus.Error.UnknownProperty")
        print("read Session", name, flush=True)
        return props[name]

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        return self.props() if interface == SESSION else {}


class Manager(dbus.service.Object):
    def __init__(self, bus):
        super().__init__(bus, ROOT)
        self.desktop = Session(bus, "_31", "seat0", "x11", True, 0)   # "1", escaped as logind does
        self.ssh = Session(bus, "c5", "", "tty", False, 0)
        self.desktop.sid = "1"

    @dbus.service.method("org.freedesktop.login1.Manager", out_signature="a(susso)")
    def ListSessions(self):
        return [(s.sid, dbus.UInt32(1000), "owner", s.seat, dbus.ObjectPath(s.path))
                for s in (self.desktop, self.ssh)]

    # The desktop session: idle since SECONDS_AGO (IDLE true), or in use now (IDLE false).
    @dbus.service.method("org.freedesktop.login1.LabControl", in_signature="bd")
    def SetIdle(self, idle, seconds_ago):
        self.desktop.idle = bool(idle)
        self.desktop.since_us = int((time.monotonic() - float(seconds_ago)) * 1e6)
        now = time.time()   # the time of day as the node's log writes it, for the lab's figures
        stamp = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now * 1000) % 1000:03d}"
        print(stamp, "set idle" if idle else "set active", float(seconds_ago), flush=True)


DBusGMainLoop(set_as_default=True)
system_bus = dbus.SystemBus()  # DBUS_SYSTEM_BUS_ADDRESS
manager = Manager(system_bus)
name = dbus.service.BusName("org.freedesktop.login1", system_bus)
print("ready", flush=True)
GLib.MainLoop().run()
