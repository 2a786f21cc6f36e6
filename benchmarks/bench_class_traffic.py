"""A class of 40 on one server, and one student trying to take it down, side by side in one run.

Every student is a scripted client that behaves as the page in a browser does (``BrowserLikeClient``:
it loads Train, presses Start with the book's run, then reruns the live view at the interval the server
asks for), from an address of its own (127.0.1.x); the class and the flooder run in processes of their own,
as a class's browsers are on machines of their own (in the probe's process their threads would hold its GIL
and count in its round trips). A probe student clicks (a full rerun of Train) every
half second; its round trips are compared with the idle server's, measured first in the same run:

1. idle: the probe alone, at the start and again at the end (both together are the baseline, so that the
   machine's drift over the run counts both ways);
2. foreign Origin: handshakes from foreign pages against a server whose outbound traffic hangs (a local
   proxy that never answers, as on a LAN that drops it) (target: p95 <= 1.2x idle);
3. start storm: the 40 students press Start within a few seconds of each other (the book's 40-epoch
   exercise) and watch, while the probe clicks (no target: the moment a teacher says "press Start");
4. class: a few seconds later, the 40 students training and watching their runs (target: median <= 1.5x,
   p95 <= 3x idle);
5. flood: the class, and one student with 20 sessions asking for 5 reruns a second each (p95 <= 2x idle);
6. hog: one student's largest allowed runs on every worker (by default one epoch at batch 5: the longest
   epoch the class's default limit allows, so the longest wait for a yield), then a classmate's 1-epoch
   run: seconds to its first point (target: <= 10 s).

    .venv/bin/python benchmarks/bench_class_traffic.py            # 40 students, ~4 minutes
    .venv/bin/python benchmarks/bench_class_traffic.py --students 10 --clicks 20 --json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))
sys.path.insert(0, str(REPO_ROOT))

from e2e.conftest import Server  # noqa: E402
from e2e.streamlit_client import BrowserLikeClient, ScriptedClient  # noqa: E402
from e2e.test_traffic_attacks import HangingProxy  # noqa: E402

from softmax_core.classroom.auth import ClassDoor, load_classroom_settings  # noqa: E402
from softmax_core.runs.store import (  # noqa: E402
    EVERYTHING,  # noqa: E402
    RunStore,  # noqa: E402
)

CLASS_CODE = "bench-class-code-7431"
PROBE, FLOODER, HOG, STRANGER = "127.0.2.1", "127.0.2.2", "127.0.2.3", "127.0.2.4"


class Door:
    """Joins students to the class on a running server, as their browsers would be signed in."""

    def __init__(self, url: str, db_url: str):
        self.url = url
        self.store = RunStore(db_url)
        settings = load_classroom_settings({}, {"SOFTMAX_LAB_CLASS_CODE": CLASS_CODE})
        self.door = ClassDoor(settings, self.store.classroom)

    def student(self, name: str, address: str) -> BrowserLikeClient:
        """A student joined from ``address``, connected as their browser would be, on Train."""
        from dashboard.auth_routes import DEVICE_COOKIE

        _, handoff = self.door.join(CLASS_CODE, name, address)
        cookie = f"{DEVICE_COOKIE}={self.door.sign_in(handoff).token}"
        client = BrowserLikeClient(self.url, source=address, headers={"Cookie": cookie})
        client.load()
        return client


class Class(Door):
    """The server, its database, and the students joined on it."""

    def __init__(self, folder: Path, data_dir: str):
        proxy = HangingProxy()
        address = f"http://127.0.0.1:{proxy.port}"
        env = {"SOFTMAX_LAB_CLASS_CODE": CLASS_CODE, "NO_PROXY": "", "no_proxy": "",
               **{name: address for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")}}
        self.proxy = proxy
        self.server = Server(f"sqlite:///{folder}/runs.db", Path(data_dir), folder / "streamlit.log", env=env).start()
        super().__init__(self.server.url, self.server.db_url)

    def stop(self) -> None:
        self.server.stop()
        self.proxy.close()


class LoadProcess:
    """Clients that load the server from a process of their own, as a class's browsers are each on a machine
    of their own: in the probe's process, their threads would hold its GIL and count in its round trips."""

    def __init__(self, target, *args):
        context = multiprocessing.get_context("spawn")
        self.ready, self.go = context.Event(), context.Event()
        self.process = context.Process(target=target, args=(*args, self.ready, self.go), daemon=True)
        self.process.start()
        if not self.ready.wait(300):
            raise RuntimeError(f"{target.__name__} did not get ready")

    def start(self) -> None:
        self.go.set()

    def join(self) -> None:
        self.process.join()


def class_of(url: str, db_url: str, count: int, seconds: float, ready, go) -> None:
    """(In a process of its own.) ``count`` students join and load Train; at ``go`` they press Start (the
    book's 40-epoch exercise) and watch their runs for ``seconds``."""
    door = Door(url, db_url)
    students = [door.student(f"Student {i}", f"127.0.1.{i + 1}") for i in range(count)]
    ready.set()
    go.wait()
    end = time.monotonic() + seconds
    for thread in in_background([lambda s=s: start_and_watch(s, end) for s in students]):
        thread.join()


def flooder(url: str, db_url: str, seconds: float, ready, go) -> None:
    """(In a process of its own.) One signed-in student's 20 sessions, each asking for 5 reruns a second."""
    sessions = flooding_sessions(Door(url, db_url))
    ready.set()
    go.wait()
    end = time.monotonic() + seconds
    for thread in in_background([lambda c=c: flood(c, end) for c in sessions]):
        thread.join()


def watch(client: BrowserLikeClient, until: float) -> None:
    """Rerun the live fragments at the intervals the server asked for, as the browser does. Each browser's
    timer starts when its page did, so the class's polls are spread over the interval, not in step."""
    start = time.monotonic() + random.uniform(0.0, max(client.fragments.values(), default=1.0))
    due: dict[str, float] = dict.fromkeys(client.fragments, start)
    while time.monotonic() < until:
        for fragment, interval in list(client.fragments.items()):
            if time.monotonic() >= due.get(fragment, 0.0):
                client.rerun_fragment(fragment)
                due[fragment] = time.monotonic() + interval
        time.sleep(0.02)


def probe_clicks(probe: BrowserLikeClient, clicks: int) -> list[float]:
    """A person's clicks on Train, half a second apart: each a full rerun's round trip."""
    seconds = []
    for _ in range(clicks):
        seconds.append(probe.load())
        time.sleep(0.5)
    return seconds


def flooding_sessions(door: Door, count: int = 20) -> list[ScriptedClient]:
    """One signed-in student's ``count`` sessions, those the server lets open."""
    eve = door.student("Eve", FLOODER)
    sessions = []
    for _ in range(count):
        try:
            sessions.append(ScriptedClient(door.url, source=FLOODER, headers=eve.headers))
        except Exception:  # noqa: BLE001 - refused at the handshake: past twice a student's sessions
            continue
    return sessions


def flood(client: ScriptedClient, until: float) -> None:
    while time.monotonic() < until:
        client.ask_rerun()
        client.read_until_finished(0.2)


def foreign_handshakes(url: str, until: float) -> None:
    while time.monotonic() < until:
        try:
            ScriptedClient(url, source=STRANGER, headers={"Origin": "http://ev.il"}).close()
        except Exception:  # noqa: BLE001 - refused, as it should be
            pass
        time.sleep(0.25)


def in_background(targets) -> list[threading.Thread]:
    threads = [threading.Thread(target=target, daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    return threads


def measure_with(load_targets, probe: BrowserLikeClient, clicks: int) -> list[float]:
    threads = in_background(load_targets)
    time.sleep(2.0)
    seconds = probe_clicks(probe, clicks)
    for thread in threads:
        thread.join()
    return seconds


def first_point_beside_a_hog(lab: Class, workers: int, epochs: int, batch: int) -> float:
    """The hog fills every worker with its largest allowed runs; then a classmate's 1-epoch run starts."""
    hog = lab.student("Hog", HOG)
    for _ in range(workers):
        hog.click("Start", {"Epochs": epochs, "Batch size": batch})
    deadline = time.monotonic() + 60
    while sum(run.status == "running" for run in lab.store.list_runs(scope=EVERYTHING)) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError("the hog's runs did not start")
        time.sleep(0.2)
    classmate = lab.student("Late", "127.0.2.5")
    known = {run.id for run in lab.store.list_runs(scope=EVERYTHING)}
    clicked = time.perf_counter()
    classmate.click("Start", {"Epochs": 1})
    while True:
        late = [run for run in lab.store.list_runs(scope=EVERYTHING) if run.id not in known]
        if late and late[0].last_step > 0:
            return time.perf_counter() - clicked
        if time.perf_counter() - clicked > 120:
            return float("inf")
        time.sleep(0.1)


def run(args) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        lab = Class(Path(folder), args.data_dir)
        try:
            probe = lab.student("Probe", PROBE)
            phases = {"idle": probe_clicks(probe, args.clicks)}
            seconds = args.clicks * 0.6 + 4
            end = time.monotonic() + seconds
            phases["foreign_origin"] = measure_with([lambda: foreign_handshakes(lab.server.url, end)] * 4,
                                                    probe, args.clicks)
            students = LoadProcess(class_of, lab.url, lab.server.db_url, args.students, 3 * seconds + 10)
            flooding = LoadProcess(flooder, lab.url, lab.server.db_url, seconds)
            students.start()  # the storm, then the class, then the class and the flood
            training_from = time.monotonic()
            phases["start_storm"] = probe_clicks(probe, args.clicks)
            time.sleep(4)  # the class settles: every view polls at its steady pace
            phases["class"] = probe_clicks(probe, args.clicks)
            flooding.start()
            time.sleep(2.0)
            phases["flood"] = probe_clicks(probe, args.clicks)
            flooding.join()
            steps_a_second = trained_steps(lab.store) / (time.monotonic() - training_from)
            students.join()
            settle(lab.store)
            first_point = first_point_beside_a_hog(lab, args.workers, args.hog_epochs, args.hog_batch)
            settle(lab.store)
            phases["idle"] += probe_clicks(probe, args.clicks)  # the idle server again: drift counts both ways
        finally:
            lab.stop()
    return {**report(phases, first_point), "class_steps_a_second": steps_a_second}


def settle(store: RunStore, seconds: float = 60.0) -> None:
    """Cancel every run and wait until none is queued or training."""
    for run_ in store.list_runs(scope=EVERYTHING):
        store.request_cancel(run_.id)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(
            run_.status in ("queued", "running") for run_ in store.list_runs(scope=EVERYTHING)):
        time.sleep(0.2)
    time.sleep(2)


def trained_steps(store: RunStore) -> int:
    """SGD steps the workers have trained, every run together."""
    return sum(run.last_step for run in store.list_runs(scope=EVERYTHING))


def start_and_watch(student: BrowserLikeClient, until: float) -> None:
    """The teacher says "press Start": the student starts the book's 40-epoch exercise and watches it."""
    student.click("Start", {"Epochs": 40})
    watch(student, until)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def report(phases: dict[str, list[float]], first_point: float) -> dict:
    idle_median, idle_p95 = statistics.median(phases["idle"]), p95(phases["idle"])
    figures = {name: {"median_s": statistics.median(times), "p95_s": p95(times),
                      "median_vs_idle": statistics.median(times) / idle_median, "p95_vs_idle": p95(times) / idle_p95,
                      "slowest_s": sorted(times)[-3:]}
               for name, times in phases.items()}
    figures["hog_first_point_s"] = first_point
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--clicks", type=int, default=30, help="the probe's clicks in each phase")
    parser.add_argument("--workers", type=int, default=2, help="the server's worker count (to fill)")
    # the class's largest run by default is 10,000 book steps; its longest epoch (the longest wait for a yield)
    # is one epoch at batch 5: 10,000 steps of the 50,000 training images a student's run keeps
    parser.add_argument("--hog-epochs", type=int, default=1, help="the hog's runs' epochs")
    parser.add_argument("--hog-batch", type=int, default=5, help="the hog's runs' batch size")
    parser.add_argument("--data-dir", default=str(REPO_ROOT.parent / "shared" / "data" / "fashion-mnist"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = run(args)
    if args.json:
        print(json.dumps(figures))
        return
    targets = {"class": "median <= 1.5x, p95 <= 3x", "flood": "p95 <= 2x", "foreign_origin": "p95 <= 1.2x",
               "start_storm": "(no target)"}
    print(f"{args.students} students training and watching, a probe clicking every 0.5 s "
          f"({args.clicks} clicks a phase)")
    for name, row in figures.items():
        if isinstance(row, dict):
            print(f"  {name:15s} median {row['median_s'] * 1000:7.1f} ms ({row['median_vs_idle']:.2f}x idle)  "
                  f"p95 {row['p95_s'] * 1000:7.1f} ms ({row['p95_vs_idle']:.2f}x idle)  {targets.get(name, '')}")
    print(f"  hog on every worker: a classmate's 1-epoch run showed its first point after "
          f"{figures['hog_first_point_s']:.1f} s (target <= 10 s)")
    print(f"  the class's runs trained {figures['class_steps_a_second']:.0f} SGD steps a second in all "
          f"(the storm, the class and the flood)")


if __name__ == "__main__":
    main()
