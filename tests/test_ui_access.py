"""Who may use the UI: logins, refusal to serve the network without one, and read-only serving.

The server tests run the real Gradio app over tiny models built in the test and talk to it through
``gradio_client``, as a script would.
"""
from __future__ import annotations

import pytest

from ui.access import AUTH_ENV, AccessError, check_exposure, check_host, is_loopback, ordinal, read_auth

pytestmark = pytest.mark.filterwarnings("ignore:::gradio")


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.3.4.5", True), ("::1", True),
                                            ("[::1]", True), ("localhost", True), ("0.0.0.0", False),
                                            ("::", False), ("192.168.1.20", False), ("example.org", False)])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_read_auth_from_options_file_and_environment(tmp_path):
    f = tmp_path / "users.txt"
    f.write_text("# team\nbob:pa:ss\n\ncarol:x\n", encoding="utf-8")
    users = read_auth(["alice:s3cret"], str(f), env={AUTH_ENV: "dave:1, erin:2"})
    assert users == [("alice", "s3cret"), ("bob", "pa:ss"), ("carol", "x"), ("dave", "1"), ("erin", "2")]
    assert read_auth(None, None, env={}) == []


@pytest.mark.parametrize("values, file_text, env, message", [
    (["alice"], None, {}, "expected USER:PASS"),
    (["alice:"], None, {}, "non-empty user and password"),
    ([":pw"], None, {}, "non-empty user and password"),
    (["a:1", "a:2"], None, {}, "'a' is given more than once"),
    (None, "# nobody\n", {}, "no USER:PASS line"),
    (None, None, {AUTH_ENV: "alice"}, f"the 1st login in {AUTH_ENV}: expected USER:PASS"),
])
def test_bad_logins_are_refused(tmp_path, values, file_text, env, message):
    path = None
    if file_text is not None:
        path = tmp_path / "users.txt"
        path.write_text(file_text, encoding="utf-8")
    with pytest.raises(AccessError, match=message):
        read_auth(values, str(path) if path else None, env=env)


@pytest.mark.parametrize("values, file_text, env, secret, message", [
    (["mysecretpassword"], None, {}, "mysecretpassword", "the 1st --auth: expected USER:PASS"),
    (["a:1", "hunter2"], None, {}, "hunter2", "the 2nd --auth: expected USER:PASS"),
    (None, "a:1\nhunter2\n", {}, "hunter2", ".txt:2: expected USER:PASS"),
    (None, None, {AUTH_ENV: "mysecretpassword"}, "mysecretpassword", f"the 1st login in {AUTH_ENV}: expected"),
    # split at the comma in its password: the rest of the password was printed
    (None, None, {AUTH_ENV: "alice:pa55,w0rdX"}, "w0rdX", f"the 2nd login in {AUTH_ENV}: expected USER:PASS"),
])
def test_a_malformed_login_is_named_by_its_place_never_by_its_text(tmp_path, values, file_text, env, secret,
                                                                    message):
    path = None
    if file_text is not None:
        path = tmp_path / "users.txt"
        path.write_text(file_text, encoding="utf-8")
    with pytest.raises(AccessError) as caught:
        read_auth(values, str(path) if path else None, env=env)
    assert message in str(caught.value) and secret not in str(caught.value)
    # a piece after a comma is most likely a password's rest: where such a password goes is said
    assert ("a password holding a comma goes in --auth or --auth-file" in str(caught.value)) == ("," in str(env))


def test_a_comma_belongs_to_the_password_in_auth_and_auth_file(tmp_path):
    f = tmp_path / "users.txt"
    f.write_text("bob:x,y\n", encoding="utf-8")
    assert read_auth(["alice:pa,ss"], str(f), env={}) == [("alice", "pa,ss"), ("bob", "x,y")]
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]


def test_a_host_that_does_not_resolve_is_refused_and_forms_gradio_takes_pass():
    for host in ("127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0", ""):   # "": Gradio's localhost
        check_host(host)
    with pytest.raises(AccessError, match=r"--host ' 127.0.0.1 ': name does not resolve \(it has blanks around it\)"):
        check_host(" 127.0.0.1 ")
    with pytest.raises(AccessError, match="name does not resolve"):
        check_host("local\0host")


def test_an_unreadable_auth_file_is_a_clear_error(tmp_path):
    with pytest.raises(AccessError, match="cannot read it"):
        read_auth(None, str(tmp_path / "missing.txt"), env={})


def test_exposure_needs_a_login():
    check_exposure("127.0.0.1", False, [])
    check_exposure("0.0.0.0", False, [("a", "b")])
    with pytest.raises(AccessError, match="--host 0.0.0.0 exposes the UI to the network: give --auth"):
        check_exposure("0.0.0.0", False, [])
    with pytest.raises(AccessError, match="--share publishes"):
        check_exposure("127.0.0.1", True, [])


@pytest.mark.parametrize("argv, message", [
    (["ui", "--host", "0.0.0.0"], "--host 0.0.0.0 exposes the UI to the network"),
    (["ui", "--host", "0.0.0.0", "--auth", "nocolon"], "expected USER:PASS"),
    (["ui", "--share"], "--share publishes the UI"),
    (["ui", "--host", " 127.0.0.1 "], "error: --host ' 127.0.0.1 ': name does not resolve"),
    (["ui", "--host", "0.0.0.0", "--auth", "mysecretpassword"], "error: the 1st --auth: expected USER:PASS"),
])
def test_qa_ui_refuses_to_start_before_loading_models(argv, message, capsys, monkeypatch):
    import ui as ui_pkg
    from ui.cli import main

    monkeypatch.delenv(AUTH_ENV, raising=False)
    monkeypatch.setattr(ui_pkg, "build_bot", lambda *a, **k: pytest.fail("models loaded before the refusal"))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "mysecretpassword" not in err


# ---------------------------------------------------------------- a served app, through gradio_client
@pytest.fixture(scope="module")
def tiny_bot(tiny_encoder_path, tiny_qa_model, tmp_path_factory):
    from qa.bot import QABot
    from qa.config import Config

    doc = tmp_path_factory.mktemp("corpus") / "fact.txt"
    doc.write_text("星河公司是一家虚构的航天材料企业。公司成立于2016年，总部设在青岛。", encoding="utf-8")
    return QABot.from_corpus([doc], Config(encoder=str(tiny_encoder_path), reader=str(tiny_qa_model)))


@pytest.fixture(scope="module")
def read_only_server(tiny_bot):
    from conftest import served_ui

    with served_ui(tiny_bot, read_only=True, auth=[("alice", "s3cret")]) as url:
        yield url


def test_read_only_server_with_login_answers_and_refuses_writes(read_only_server, tiny_bot):
    from gradio_client import Client

    with pytest.raises(Exception):  # no login: no access at all
        Client(read_only_server, verbose=False)
    with pytest.raises(Exception):
        Client(read_only_server, auth=("alice", "wrong"), verbose=False)
    client = Client(read_only_server, auth=("alice", "s3cret"), verbose=False)
    answer = client.predict("星河公司总部在哪里？", 3, "hybrid", api_name="/ask")
    assert answer["question"] == "星河公司总部在哪里？" and len(answer["passages"]) == 1
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert "/ask" in endpoints and "/add_documents" not in endpoints and "/remove_document" not in endpoints
    before = set(tiny_bot.store.documents)
    for name, args in (("/remove_document", (next(iter(before)),)), ("/add_documents", ([],))):
        with pytest.raises(Exception):
            client.predict(*args, api_name=name)
    assert set(tiny_bot.store.documents) == before


def test_read_only_callbacks_refuse_writes(tiny_bot):
    import gradio as gr

    from ui.app import READ_ONLY_REFUSAL, ChatUI

    ui = ChatUI(tiny_bot, read_only=True)
    before = set(tiny_bot.store.documents)
    with pytest.raises(gr.Error, match=READ_ONLY_REFUSAL):
        ui.remove(next(iter(before)))
    with pytest.raises(gr.Error, match=READ_ONLY_REFUSAL):
        ui.add_files([])
    assert set(tiny_bot.store.documents) == before
