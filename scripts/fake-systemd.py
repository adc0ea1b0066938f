#!/usr/bin/python3
"""A stand-in for systemd's private socket, for testing `berth-runtime --systemd-cgroup` on a
host that runs no systemd. It speaks real D-Bus (libdbus, through Debian's python3-dbus) in
peer-to-peer mode, as systemd does on /run/systemd/private, and implements what a runtime
calls: Subscribe, StartTransientUnit (creates the unit's cgroup where systemd would and moves
the PIDs into it), StopUnit (kills what is left, removes the cgroup), each job finished with a
JobRemoved signal. Every call is appended to LOG as a JSON line.

    fake-systemd.py SOCKET LOG
"""
import json
import os
import signal
import sys

import dbus
import dbus.mainloop.glib
import dbus.server
import dbus.service
from gi.repository import GLib

MANAGER = "org.freedesktop.systemd1.Manager"
CGROUP = "/sys/fs/cgroup"
# The v1 hierarchies systemd manages (the others are the runtime's to create).
SYSTEMD_V1 = ("systemd", "cpu", "cpuacct", "memory", "pids", "blkio", "devices")

socket_path, log_path = sys.argv[1], sys.argv[2]
# A test runner may start us with its own signals blocked.
signal.pthread_sigmask(signal.SIG_SETMASK, [])


def log(entry):
    with open(log_path, "a") as f:
        f.write(json.dumps(entry) + "\n")


def expand(slice_name):
    """a-b.slice -> /a.slice/a-b.slice (systemd's nesting by dashes)."""
    if slice_name == "-.slice":
        return ""
    parts, path = slice_name[: -len(".slice")].split("-"), ""
    for i in range(len(parts)):
        path += "/" + "-".join(parts[: i + 1]) + ".slice"
    return path


def roots():
    if os.path.exists(CGROUP + "/cgroup.controllers"):
        return [CGROUP]
    return [CGROUP + "/" + h for h in SYSTEMD_V1 if os.path.isdir(CGROUP + "/" + h)]


class Manager(dbus.service.Object):
    def __init__(self, connection):
        super().__init__(connection, "/org/freedesktop/systemd1")
        self.units = {}
        self.jobs = 0

    def _job(self, unit):
        self.jobs += 1
        job = dbus.ObjectPath("/org/freedesktop/systemd1/job/%d" % self.jobs)
        number = self.jobs
        GLib.idle_add(lambda: self.JobRemoved(dbus.UInt32(number), job, unit, "done") and False)
        return job

    @dbus.service.method(MANAGER, in_signature="", out_signature="")
    def Subscribe(self):
        log({"call": "Subscribe"})

    @dbus.service.method(MANAGER, in_signature="ssa(sv)a(sa(sv))", out_signature="o")
    def StartTransientUnit(self, name, mode, properties, aux):
        props = {str(k): v for k, v in properties}
        pids = [int(p) for p in props.get("PIDs", [])]
        log({"call": "StartTransientUnit", "name": str(name), "mode": str(mode), "slice": str(props.get("Slice", "")),
             "pids": pids, "delegate": bool(props.get("Delegate", False)), "aux": len(aux)})
        if not pids:
            raise dbus.exceptions.DBusException("Scope has no PIDs.", name="org.freedesktop.DBus.Error.InvalidArgs")
        path = expand(name) if name.endswith(".slice") else expand(str(props.get("Slice", "system.slice"))) + "/" + name
        for root in roots():
            os.makedirs(root + path, exist_ok=True)
            for pid in pids:
                with open(root + path + "/cgroup.procs", "w") as f:
                    f.write(str(pid))
        self.units[str(name)] = path
        return self._job(name)

    @dbus.service.method(MANAGER, in_signature="ss", out_signature="o")
    def StopUnit(self, name, mode):
        log({"call": "StopUnit", "name": str(name)})
        path = self.units.pop(str(name), None)
        if path is None:
            raise dbus.exceptions.DBusException("Unit %s not loaded." % name, name="org.freedesktop.systemd1.NoSuchUnit")
        for root in roots():
            try:
                with open(root + path + "/cgroup.procs") as f:
                    for pid in f.read().split():
                        os.kill(int(pid), signal.SIGKILL)
                os.rmdir(root + path)
            except OSError:
                pass
        return self._job(name)

    @dbus.service.signal(MANAGER, signature="uoss")
    def JobRemoved(self, number, job, unit, result):
        pass


class Server(dbus.server.Server):
    def connection_added(self, connection):
        connection.manager = Manager(connection)


dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
server = Server("unix:path=" + socket_path)
loop = GLib.MainLoop()
GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
loop.run()
server.disconnect()
