"""What a student's script can do to the class's server with traffic alone, tried against the real server
from several loopback addresses (127.0.0.2, 127.0.0.3, ...: other computers of the class):

- a session flood: one signed-in student opens 20 websocket sessions and asks each for a rerun every
  0.2 s, while a classmate uses the page;
- handshakes with a foreign ``Origin`` (another site, or another port of this machine), against a server
  whose outbound traffic hangs, as on a LAN that drops it: Streamlit would look up the machine's external
  address inside its event loop, and every page would wait;
- the same class behind a TLS reverse proxy (Debian's nginx, the README's configuration): without a
  trusted-proxy setting the class is one address, and with the client's own X-Forwarded-For passed
  through a student chooses theirs.
"""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import statistics
import subprocess
import threading
import time
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus

from softmax_core.classroom.auth import ClassDoor, load_classroom_settings
from softmax_core.runs.store import RunStore

from .conftest import REPO_ROOT, Server, free_port
from .streamlit_client import ScriptedClient

pytestmark = pytest.mark.e2e
CLASS_CODE = "FM-404"
FLOODER, CLASSMATE, STRANGER = "127.0.0.2", "127.0.0.3", "127.0.0.4"
SLOWED_DOWN, TOO_MANY_TABS = "slowed down", "Too many Softmax Lab tabs"


@pytest.fixture
def class_server(tmp_path, real_data_dir):
    server = Server(f"sqlite:///{tmp_path}/runs.db", real_data_dir, tmp_path / "streamlit.log",
                    env={"SOFTMAX_LAB_CLASS_CODE": CLASS_CODE}).start()
    try:
        yield server
    finally:
        server.stop()


def join_cookie(server: Server, name: str, address: str) -> dict[str, str]:
    """A student joined on the server's database, and the cookie header their browser would send."""
    from dashboard.auth_routes import DEVICE_COOKIE

    door = ClassDoor(load_classroom_settings({}, {"SOFTMAX_LAB_CLASS_CODE": CLASS_CODE}),
                     RunStore(server.db_url).classroom)
    _, handoff = door.join(CLASS_CODE, name, address)
    return {"Cookie": f"{DEVICE_COOKIE}={door.sign_in(handoff).token}"}


def open_sessions(url: str, count: int, **client) -> tuple[list[ScriptedClient], int]:
    """Open up to ``count`` sessions; the ones the server accepted, and how many it refused."""
    opened, refused = [], 0
    for _ in range(count):
        try:
            opened.append(ScriptedClient(url, **client))
        except InvalidStatus as refusal:
            assert refusal.response.status_code == 403
            refused += 1
    return opened, refused


def paced_reruns(client: ScriptedClient, count: int) -> list[float]:
    """A person's reruns: clicks a third of a second apart (faster than anyone clicks for long)."""
    seconds = []
    for _ in range(count):
        seconds.append(client.rerun(timeout=60))
        time.sleep(0.3)
    return seconds


def flood(client: ScriptedClient, until: float, finished: list[int]) -> None:
    """Ask for a rerun every 0.2 s, whether or not the last one finished; count those that finished."""
    while time.monotonic() < until:
        client.ask_rerun()
        finished.append(int(client.read_until_finished(0.2)))


def test_a_flooding_student_is_slowed_down_and_a_classmate_is_not(class_server):
    url = class_server.url
    eve, dana = join_cookie(class_server, "Eve", FLOODER), join_cookie(class_server, "Dana", CLASSMATE)
    with ScriptedClient(url, source=CLASSMATE, headers=dana) as classmate:
        idle = paced_reruns(classmate, 5)
        sessions, refused = open_sessions(url, 20, source=FLOODER, headers=eve)
        assert refused == 4, "past twice the 8 sessions a student may have, a session is refused"
        until, finished = time.monotonic() + 8.0, []
        threads = [threading.Thread(target=flood, args=(client, until, finished)) for client in sessions]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        busy = paced_reruns(classmate, 10)
        for thread in threads:
            thread.join()
        parked_texts = [" ".join(client.texts) for client in sessions]
        for client in sessions:
            client.close()
    assert max(busy) < max(3.0, 10 * statistics.median(idle)), f"the classmate waited: idle {idle}, busy {busy}"
    # 16 sessions asked for 640 reruns in 8 s; the student's budget is 30 at once and 4 a second (62), and
    # the 8 parked sessions get 2 at once and one every 5 s (29): about 91 in all
    assert sum(finished) <= 100, f"the flood got {sum(finished)} reruns done"
    assert sum(TOO_MANY_TABS in text for text in parked_texts) == 8, "the parked tabs say why"
    assert any(SLOWED_DOWN in text for text in parked_texts), "the slowed-down tabs say why"
    assert SLOWED_DOWN not in " ".join(classmate.texts)


class HangingProxy:
    """An HTTP proxy that accepts every connection and never answers: outbound traffic that hangs."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._hold, daemon=True).start()

    def _hold(self) -> None:
        while True:
            try:
                self.held.append(self.listener.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        self.listener.close()
        for connection in self.held:
            connection.close()


@pytest.fixture
def server_behind_a_hanging_network(tmp_path, real_data_dir):
    proxy = HangingProxy()
    address = f"http://127.0.0.1:{proxy.port}"
    env = {"SOFTMAX_LAB_CLASS_CODE": CLASS_CODE, "NO_PROXY": "", "no_proxy": "",
           **{name: address for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")}}
    server = Server(f"sqlite:///{tmp_path}/runs.db", real_data_dir, tmp_path / "streamlit.log", env=env).start()
    try:
        yield server
    finally:
        server.stop()
        proxy.close()


def handshake_seconds(url: str, origin: str) -> tuple[float, int | None]:
    """How long a handshake from a page of ``origin`` takes, and the HTTP status it was refused with."""
    started = time.perf_counter()
    try:
        ScriptedClient(url, source=STRANGER, headers={"Origin": origin}).close()
        status = None
    except InvalidStatus as refusal:
        status = refusal.response.status_code
    return time.perf_counter() - started, status


def test_foreign_origins_are_refused_before_any_lookup_and_stall_nobody(server_behind_a_hanging_network):
    url = server_behind_a_hanging_network.url
    other_port = f"http://127.0.0.1:{free_port()}"  # a page served on another port of this machine
    with ScriptedClient(url, source=CLASSMATE) as classmate:
        idle = [classmate.rerun() for _ in range(5)]
        results: list[tuple[float, int | None]] = []
        origins = ["http://ev.il", other_port, "null"] * 4
        attackers = [threading.Thread(target=lambda o=o: results.append(handshake_seconds(url, o))) for o in origins]
        for attacker in attackers:
            attacker.start()
        busy = [classmate.rerun(timeout=60) for _ in range(5)]
        for attacker in attackers:
            attacker.join()
    assert max(busy) < max(1.0, 10 * statistics.median(idle)), f"the classmate waited: idle {idle}, busy {busy}"
    assert [status for _, status in results] == [403] * len(origins), "every foreign page is refused"
    assert max(seconds for seconds, _ in results) < 1.0, "refused at once, without looking anything up"


# --- behind the README's TLS reverse proxy ------------------------------------------------------------------

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
NGINX_SITE = REPO_ROOT / "deploy" / "nginx-softmax-lab.conf"


def nginx_config(folder: Path, listen_port: int, upstream_port: int) -> Path:
    """The README's site file, on test ports and a throwaway certificate, in a minimal nginx.conf."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")], check=True,
                   capture_output=True)
    site = NGINX_SITE.read_text()
    site = re.sub(r"listen 443 ssl;", f"listen 127.0.0.1:{listen_port} ssl;", site)
    site = re.sub(r"ssl_certificate .*;", f"ssl_certificate {folder / 'cert.pem'};", site)
    site = re.sub(r"ssl_certificate_key .*;", f"ssl_certificate_key {folder / 'key.pem'};", site)
    site = site.replace("127.0.0.1:8501", f"127.0.0.1:{upstream_port}")
    temp = {name: folder / name for name in ("client", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    config = folder / "nginx.conf"
    config.write_text(f"""daemon off; pid {folder / 'nginx.pid'}; error_log {folder / 'error.log'};
events {{}}
http {{
  access_log off; client_body_temp_path {temp['client']}; proxy_temp_path {temp['proxy']};
  fastcgi_temp_path {temp['fastcgi']}; uwsgi_temp_path {temp['uwsgi']}; scgi_temp_path {temp['scgi']};
{site}
}}
""")
    return config


@pytest.fixture
def class_behind_nginx(tmp_path, real_data_dir):
    if not Path(NGINX).exists():
        pytest.fail("nginx is missing: .ci/run installs Debian's nginx package")
    server = Server(f"sqlite:///{tmp_path}/runs.db", real_data_dir, tmp_path / "streamlit.log",
                    env={"SOFTMAX_LAB_CLASS_CODE": CLASS_CODE, "SOFTMAX_LAB_TRUSTED_PROXIES": "127.0.0.1"}).start()
    port = free_port()
    config = nginx_config(tmp_path, port, int(server.url.rsplit(":", 1)[1]))
    nginx = subprocess.Popen([NGINX, "-c", str(config), "-e", str(tmp_path / "error.log")],
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert time.monotonic() < deadline and nginx.poll() is None, (tmp_path / "error.log").read_text()
            time.sleep(0.1)
        yield server, f"https://localhost:{port}"
    finally:
        nginx.terminate()
        nginx.wait(10)
        server.stop()


def test_behind_the_proxy_each_computer_is_its_own_address_and_cannot_choose_it(class_behind_nginx):
    server, url = class_behind_nginx
    tls = ssl.create_default_context()
    tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
    forged = [{"X-Forwarded-For": f"10.9.{i // 250}.{i % 250 + 1}", "Origin": url} for i in range(60)]
    opened, refused = [], 0
    for headers in forged:  # every session from one computer, each claiming to be another
        sessions, refusals = open_sessions(url, 1, source=FLOODER, headers=headers, tls=tls)
        opened += sessions
        refused += refusals
    try:
        assert (len(opened), refused) == (48, 12), "one computer's sessions are counted as one address"
        with ScriptedClient(url, source=CLASSMATE, headers={"Origin": url}, tls=tls) as classmate:
            classmate.rerun()
            assert TOO_MANY_TABS not in " ".join(classmate.texts), "another computer is another address"
            assert "Join the class" in " ".join(classmate.texts)
    finally:
        for client in opened:
            client.close()
