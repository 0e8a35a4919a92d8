"""The installed system under real systemd: the checks scripts/test-installed runs.

A copy of the cached Debian 12 tree boots under systemd-nspawn (sharing the host's network, so
loopback is one for both); the packages are installed there with apt; weighbridge-sim and
dwt-sandbox run inside as transient units; each check drives the real unit through systemctl,
weighbridgectl and the journal, entered with nsenter. A check that fails names itself and what it
saw; nothing is skipped.
"""

import argparse
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
TOKEN = "installed-test-token"


class CheckFailed(Exception):
    pass


def check(condition, what):
    if not condition:
        raise CheckFailed(what)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(predicate, timeout, what, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise CheckFailed(f"{what} (waited {timeout} s)")


class Container:
    """A fresh copy of the tree, booted; `run` executes a command inside it."""

    def __init__(self, tree, packages, work):
        self.root = os.path.join(work, "root")
        subprocess.run(["cp", "-a", "--reflink=auto", tree, self.root], check=True)
        self.console = open(os.path.join(work, "console.log"), "w")
        self.process = subprocess.Popen(
            ["systemd-nspawn", "--register=no", "--keep-unit", "--boot", "--console=passive",
             f"--directory={self.root}", f"--bind-ro={packages}:/packages"],
            stdout=self.console, stderr=subprocess.STDOUT)
        self.leader = wait_until(self._leader, 30, "systemd-nspawn started no container")
        state = wait_until(lambda: self.run("systemctl", "is-system-running", "--wait", check=False).stdout.strip(),
                           90, "the container's systemd did not finish booting")
        check(state in ("running", "degraded"), f"the container booted to {state!r}")

    def _leader(self):
        if self.process.poll() is not None:
            raise CheckFailed(f"systemd-nspawn exited with {self.process.returncode} (console.log)")
        children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)],
                                  capture_output=True, text=True).stdout.split()
        return children[0] if children else None

    def run(self, *command, check=True, user=None, stdin=None, timeout=300):
        """A command inside the container, as root or `user`, with a clean environment."""
        inner = ["env", "-i", f"PATH={PATH}", "LANG=C.UTF-8", *command]
        if user:
            inner = ["runuser", "-u", user, "--", *inner]
        done = subprocess.run(["nsenter", "-t", self.leader, "-a", "-r", "-w", *inner], input=stdin,
                              capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise CheckFailed(f"{' '.join(command)} exited {done.returncode}: {done.stderr.strip() or done.stdout.strip()}")
        return done

    def path(self, inside):
        """The host's path of a file inside the container (not under /run or /tmp, which are its own)."""
        return os.path.join(self.root, inside.lstrip("/"))

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()  # nspawn asks the container's systemd to power off
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.console.close()


class Simulator:
    """weighbridge-sim as a transient unit inside the container, driven through a FIFO; its
    replies come back in a file."""

    def __init__(self, container, port):
        self.container = container
        fifo, self.output = container.path("/var/tmp/sim.in"), container.path("/var/tmp/sim.out")
        os.mkfifo(fifo)
        open(self.output, "w").close()
        self.writer = os.open(fifo, os.O_RDWR)  # read-write: opening never blocks, EOF never comes
        self.reader = open(self.output)
        container.run("systemd-run", "--unit=wb-sim", "-p", "StandardInput=file:/var/tmp/sim.in",
                      "-p", "StandardOutput=file:/var/tmp/sim.out", "/usr/bin/weighbridge-sim",
                      "--tcp-port", str(port), "--profile", "laumas", "--division-kg", "20")
        self.first_line = self._line()

    def _line(self):
        buffered = ""
        deadline = time.monotonic() + 60
        while not buffered.endswith("\n"):
            buffered += self.reader.readline()
            if not buffered.endswith("\n"):
                if time.monotonic() > deadline:
                    raise CheckFailed(f"the simulator did not answer (so far: {buffered!r})")
                time.sleep(0.05)
        return buffered.strip()

    def command(self, line):
        os.write(self.writer, (line + "\n").encode())
        reply = self._line()
        check(reply.startswith("ok"), f"simulator: {line!r} answered {reply!r}")
        return reply

    def vehicle(self, gross_kg):
        self.command(f"vehicle {gross_kg} 2000 200")
        self.command("wait-empty")
        self.command("wait 600")


class Site:
    """The packaged daemon configured for the simulator and the sandbox inside the container."""

    def __init__(self, container):
        self.container = container
        self.sim_port, self.sandbox_port = free_port(), free_port()

    def ctl(self, *arguments, user=None, check=True):
        done = self.container.run("weighbridgectl", "--json", *arguments, user=user, check=check)
        return json.loads(done.stdout) if done.returncode == 0 and done.stdout.strip() else done

    def systemctl_show(self, *properties):
        done = self.container.run("systemctl", "show", "weighbridged", *[f"-p{name}" for name in properties])
        return dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)

    def sandbox(self, path, body=None):
        request = urllib.request.Request(f"http://127.0.0.1:{self.sandbox_port}/__sandbox/{path}",
                                         data=json.dumps(body).encode() if body is not None else None,
                                         method="POST" if body is not None else "GET")
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read() or b"null")

    def configuration(self):
        return f"""
[site]
id = "SITE-INSTALLED"
name = "Installed-system test"
permit = "EPR/IN0000ST"
jurisdiction = "england"

[api]
profile = "brief"
base_url = "http://127.0.0.1:{self.sandbox_port}"
timeout_seconds = 5
backoff_base_ms = 200
backoff_cap_ms = 2000

[[bridge]]
name = "inbound"
transport = "tcp"
host = "127.0.0.1"
port = {self.sim_port}
profile = "laumas"
poll_ms = 100
division_kg = 20
max_kg = 60000
settle_ms = 1000
"""

    def configure(self):
        with open(self.container.path("/etc/weighbridged/weighbridged.toml"), "w") as handle:
            handle.write(self.configuration())

    def install_token(self):
        token = self.container.path("/etc/weighbridged/credentials/dwt-token")
        with open(os.open(token, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            handle.write(TOKEN)

    def start_peers(self):
        self.container.run("systemd-run", "--unit=wb-sandbox", "/usr/bin/dwt-sandbox", "--port",
                           str(self.sandbox_port), "--brief-token", TOKEN)
        wait_until(lambda: self._answers(), 30, "dwt-sandbox did not answer inside the container")
        self.sim = Simulator(self.container, self.sim_port)

    def _answers(self):
        try:
            self.sandbox("summary")
            return True
        except OSError:
            return False

    def armed(self):
        bridges = self.ctl("bridges", check=False)
        return isinstance(bridges, list) and any(bridge.get("phase") == "armed" for bridge in bridges)

    def weighings(self, movement):
        """The movement's weighings, or None while the daemon does not answer (restarting)."""
        shown = self.ctl("show", movement, check=False)
        return shown["weighings"] if isinstance(shown, dict) else None

    def up_and_armed(self):
        running = self.container.run("systemctl", "is-active", "weighbridged", check=False).stdout.strip()
        return running == "active" and self.armed()

    def weigh(self, movement, passes, attempts=4):
        """Announces and weighs each pass, weighing again a pass the daemon did not capture (it
        was killed meanwhile): what a gatehouse does when no ticket came. Returns the tickets."""
        for index, gross in enumerate(passes):
            for _ in range(attempts):
                wait_until(self.up_and_armed, 90, "the daemon was not up with its bridge armed")
                found = self.weighings(movement)
                if found is not None and len(found) > index:
                    break
                if not isinstance(self.ctl("arrive", "--bridge", "inbound", "--movement", movement, check=False), dict):
                    continue  # it went down between the look and the announcement
                self.sim.vehicle(gross)
                try:
                    wait_until(lambda: len(self.weighings(movement) or []) > index, 5, "not captured")
                    break
                except CheckFailed:
                    continue
            else:
                raise CheckFailed(f"{movement}: pass {index} ({gross} kg) not captured in {attempts} drives")
        return [weighing["ticket"] for weighing in self.weighings(movement)]


def journal(container, *arguments):
    done = container.run("journalctl", "--no-pager", *arguments, check=False)
    return done.stdout


def install(container, *debs):
    container.run("apt-get", "install", "-y", "-q", "--no-install-recommends", *[f"/packages/{deb}" for deb in debs],
                  timeout=600)


def run_checks(container, packages, older):
    site = Site(container)
    results = []

    def passed(name, detail=""):
        results.append(name)
        print(f"  ok  {name}{': ' + detail if detail else ''}", flush=True)

    container.run("apt-get", "update", "-q", timeout=600)
    tools = os.path.basename(glob.glob(os.path.join(packages, "weighbridged-tools_*.deb"))[0])
    newer = os.path.basename(glob.glob(os.path.join(packages, "weighbridged_*.deb"))[0])
    install(container, tools, older)
    state = site.systemctl_show("UnitFileState", "ActiveState")
    check(state == {"UnitFileState": "enabled", "ActiveState": "inactive"},
          f"after installing, the unit is {state}, not enabled and stopped")
    passed("install enables the unit and does not start it before the site is configured")

    # A wrong configuration: start fails with the error in the journal, and is not retried.
    with open(container.path("/etc/weighbridged/weighbridged.toml"), "a") as handle:
        handle.write("\n[api]\nprofile = \"nonsense\"\n")
    started = container.run("systemctl", "start", "weighbridged", check=False)
    check(started.returncode != 0, "systemctl start succeeded on a wrong configuration")
    time.sleep(5)  # beyond RestartSec: a restart loop would have begun
    shown = site.systemctl_show("ActiveState", "NRestarts")
    check(shown["ActiveState"] == "failed" and shown["NRestarts"] == "0",
          f"a configuration error left the unit {shown}, not failed without a restart")
    lines = journal(container, "-u", "weighbridged", "-b")
    check("weighbridged.toml" in lines and "status=78" in lines,
          f"the journal lacks the configuration error or status 78:\n{lines[-2000:]}")
    passed("a wrong configuration fails the start with the file, line and error in the journal, status 78, no restart")
    container.run("systemctl", "reset-failed", "weighbridged")

    # Configured, but the brief's token not yet in place: the start fails naming the credential.
    site.configure()
    started = container.run("systemctl", "start", "weighbridged", check=False)
    time.sleep(3)
    shown = site.systemctl_show("ActiveState", "NRestarts")
    lines = journal(container, "-u", "weighbridged", "-b", "-o", "cat")
    check(started.returncode != 0 and shown == {"ActiveState": "failed", "NRestarts": "0"}
          and "credential dwt-token is empty" in lines,
          f"a start without the token: {shown}, journal:\n{lines[-1500:]}")
    passed("a start without its profile's secret fails naming the credential, no restart")
    container.run("systemctl", "reset-failed", "weighbridged")

    site.install_token()
    site.start_peers()
    begun = time.monotonic()
    container.run("systemctl", "start", "weighbridged")
    state = site.systemctl_show("ActiveState", "StatusText")
    check(state["ActiveState"] == "active" and state["StatusText"], f"after start: {state}")
    status = site.ctl("status")
    check(isinstance(status, dict), f"weighbridgectl status right after start failed: {status}")
    passed("systemctl start returns once the daemon is READY", f"{time.monotonic() - begun:.1f} s, "
           f"STATUS={state['StatusText']!r}")
    starts = journal(container, "-u", "weighbridged", "-b", "-o", "cat")
    checked = [line for line in starts.splitlines() if line.startswith("starting with /etc/weighbridged/weighbridged.toml")]
    check(len(checked) == 1 and "base_url =" not in starts and "tolerance_percent" not in starts,
          f"the start did not log one line of what it runs with, or logged the configuration:\n{starts[-1500:]}")
    passed("a start logs one line of what it checked", checked[0])

    security = container.run("systemd-analyze", "security", "weighbridged", check=False).stdout
    score = re.search(r"Overall exposure level for weighbridged\.service: ([0-9.]+)", security)
    check(score and float(score.group(1)) <= 2.0, f"systemd-analyze security: {security[-600:]}")
    passed("systemd-analyze security on the running unit", score.group(1))

    container.run("useradd", "--create-home", "--groups", "weighbridge", "operator1")
    container.run("useradd", "--create-home", "outsider")
    check(isinstance(site.ctl("status", user="operator1"), dict), "an operator in group weighbridge was refused")
    refused = site.ctl("status", user="outsider", check=False)
    check(isinstance(refused, subprocess.CompletedProcess) and refused.returncode == 3,
          f"a user outside the group got {refused}")
    passed("an operator in group weighbridge reaches the socket; anyone else gets exit 3")

    # A vehicle announced and weighed twice is reported, and the journal tells its story.
    wait_until(site.armed, 60, "the bridge never armed")
    site.ctl("expect", "--movement", "IT-1", "--declared-kg", "10000", "--ewc", "20 03 01", "--vehicle", "AB12CDE")
    site.weigh("IT-1", [22000, 12000])
    wait_until(lambda: site.sandbox("summary").get("confirmations", 0) == 1, 30, "IT-1 was not reported")
    story = journal(container, "-u", "weighbridged", "MOVEMENT_ID=IT-1", "-o", "json")
    entries = [json.loads(line) for line in story.splitlines() if line.strip()]
    check(len(entries) >= 3 and all(entry.get("MOVEMENT_ID") == "IT-1" for entry in entries),
          f"journalctl MOVEMENT_ID=IT-1 gave {len(entries)} entries")
    passed("a weighed vehicle is reported; journalctl MOVEMENT_ID=IT-1 tells its story",
           f"{len(entries)} entries")

    # SIGKILL mid-traffic: systemd restarts it, nothing acknowledged is lost, no duplicate.
    acknowledged = {}
    for number in range(2, 7):
        movement = f"IT-{number}"
        site.ctl("expect", "--movement", movement, "--declared-kg", "10000", "--ewc", "20 03 01")
        if number == 4:
            restarts = int(site.systemctl_show("NRestarts")["NRestarts"])
            container.run("systemctl", "kill", "-s", "KILL", "weighbridged")
            wait_until(lambda: int(site.systemctl_show("NRestarts")["NRestarts"]) > restarts, 30,
                       "systemd did not restart the killed daemon")
        acknowledged[movement] = site.weigh(movement, [22000 + 20 * number, 12000])
    wait_until(lambda: site.ctl("status").get("outbox_pending") == 0, 60, "reports still pending")
    for movement, tickets in acknowledged.items():
        shown = site.ctl("show", movement)
        check([weighing["ticket"] for weighing in shown["weighings"]] == tickets, f"{movement} lost a weighing")
    summary = site.sandbox("summary")
    check(summary.get("confirmations") == 6 and summary.get("duplicates", 0) == 0, f"sandbox: {summary}")
    passed("systemctl kill -s KILL mid-traffic: restarted, nothing lost, no duplicate", json.dumps(summary))

    # A hung daemon is killed by the watchdog and started again.
    shown = site.systemctl_show("NRestarts", "WatchdogUSec")
    watchdog = int(shown["WatchdogUSec"].rstrip("s")) if shown["WatchdogUSec"].rstrip("s").isdigit() else 30
    container.run("systemctl", "kill", "--kill-whom=main", "-s", "STOP", "weighbridged")
    stopped = time.monotonic()
    wait_until(lambda: int(site.systemctl_show("NRestarts")["NRestarts"]) > int(shown["NRestarts"])
               and site.systemctl_show("ActiveState")["ActiveState"] == "active", watchdog + 30,
               "the watchdog did not restart a hung daemon")
    took = time.monotonic() - stopped
    check("watchdog timeout" in journal(container, "-u", "weighbridged", "-b").lower(),
          "the restart was not the watchdog's")
    passed("a hung daemon (SIGSTOP) is killed by the watchdog and restarted", f"{took:.0f} s")

    # A stop is graceful.
    container.run("systemctl", "stop", "weighbridged")
    shown = site.systemctl_show("Result", "ExecMainStatus", "ActiveState")
    check(shown == {"Result": "success", "ExecMainStatus": "0", "ActiveState": "inactive"}, f"after stop: {shown}")
    passed("systemctl stop is graceful: exit 0")

    # Upgrade over the older package: the store, the configuration and the chain survive.
    container.run("systemctl", "start", "weighbridged")
    before = open(container.path("/etc/weighbridged/weighbridged.toml")).read()
    install(container, newer)
    version = container.run("weighbridged", "--version").stdout.strip()
    check(open(container.path("/etc/weighbridged/weighbridged.toml")).read() == before, "the upgrade changed the configuration")
    wait_until(lambda: site.systemctl_show("ActiveState")["ActiveState"] == "active", 30, "not running after the upgrade")
    verified = site.ctl("audit", "verify")
    check(verified.get("intact") is True, f"audit verify after the upgrade: {verified}")
    check(len(site.ctl("show", "IT-1")["weighings"]) == 2, "IT-1 lost after the upgrade")
    passed("an upgrade keeps the store, the configuration and the audit chain", version)

    container.run("apt-get", "remove", "-y", "-q", "weighbridged")
    check(os.path.exists(container.path("/var/lib/weighbridged/weighbridged.sqlite")), "remove deleted the store")
    check(os.path.exists(container.path("/etc/weighbridged/weighbridged.toml")), "remove deleted the configuration")
    install(container, newer)
    container.run("systemctl", "start", "weighbridged")
    check(site.ctl("audit", "verify").get("intact") is True, "audit chain after remove and install")
    check(len(site.ctl("show", "IT-6")["weighings"]) == 2, "IT-6 lost after remove and install")
    passed("remove, then install again: the store and configuration are kept and used")

    container.run("apt-get", "purge", "-y", "-q", "weighbridged")
    check(not os.path.exists(container.path("/etc/weighbridged")), "purge left /etc/weighbridged")
    check(os.path.exists(container.path("/var/lib/weighbridged/weighbridged.sqlite")), "purge deleted the store")
    passed("purge removes the configuration and keeps the store")
    return results


def older_package(packages, work):
    """The package rebuilt with a lower version, to install first and upgrade from."""
    newer = glob.glob(os.path.join(packages, "weighbridged_*.deb"))
    check(len(newer) == 1, f"expected one weighbridged_*.deb in {packages}, found {newer}")
    tree = os.path.join(work, "older")
    subprocess.run(["dpkg-deb", "-R", newer[0], tree], check=True)
    control = os.path.join(tree, "DEBIAN", "control")
    text = open(control).read()
    version = re.search(r"^Version: (.*)$", text, re.M).group(1)
    with open(control, "w") as handle:
        handle.write(text.replace(f"Version: {version}", f"Version: {version}~older"))
    name = f"weighbridged_{version}~older_test.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", tree, os.path.join(packages, name)],
                   check=True, capture_output=True)
    return name


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", required=True)
    parser.add_argument("--packages", required=True)
    options = parser.parse_args()
    work = tempfile.mkdtemp(prefix="weighbridged-installed-", dir="/var/tmp")
    started = time.monotonic()
    container = None
    try:
        older = older_package(options.packages, work)
        container = Container(options.tree, options.packages, work)
        results = run_checks(container, options.packages, older)
        print(f"installed-system test: {len(results)} checks passed in {time.monotonic() - started:.0f} s")
        status = 0
    except CheckFailed as failure:
        print(f"installed-system test: FAILED: {failure}", file=sys.stderr)
        if container is not None:
            saved = os.path.join(work, "journal.txt")
            with open(saved, "w") as handle:
                handle.write(journal(container, "-b"))
            print(f"  the container's journal: {saved}", file=sys.stderr)
        status = 1
    finally:
        if container is not None:
            container.stop()
            shutil.rmtree(container.root, ignore_errors=True)
        for leftover in glob.glob(os.path.join(options.packages, "*~older_test.deb")):
            os.remove(leftover)
    if status == 0:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(status)


if __name__ == "__main__":
    main()
