"""The staff console (/admin) in real headless Chromium against the real app and models: sign-in,
roles, the maker-checker flow end to end (editor → reviewer → the customer page), reject, history
and rollback. Tools, import/export and the text-not-HTML checks are in test_admin_tools.py.

Every entry these tests create has its own id (prefix `ac-`, a random suffix) and is withdrawn at
the end, so the shared knowledge base the other tests use is left as it was.
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request

import pytest

PASSWORD = "console-test-password-1"


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def console(web_server_factory):
    """A server of our own: every sign-in here would otherwise count against the shared login limit."""
    srv = web_server_factory()
    srv.server.config.app.state.kb_login_per_minute = 10_000
    return srv


@pytest.fixture(scope="module")
def staff(services):
    """One account per role, with names unique to this module's run."""
    store = services.kb_store
    tag = secrets.token_hex(3)
    names = {role: f"ac-{role}-{tag}" for role in ("viewer", "editor", "reviewer", "admin")}
    for role, name in names.items():
        store.staff.add(name, role, password=PASSWORD)
    return names


@pytest.fixture(scope="module")
def entries(services, staff):
    """`make(stem, entry)` → a served entry (written by the admin, approved by the reviewer)."""
    from knowledge.entry import Entry

    store, made = services.kb_store, []

    def make(stem: str, body: dict) -> str:
        entry_id = f"ac-{stem}-{secrets.token_hex(3)}"
        store.create(Entry.from_dict({**body, "id": entry_id}), author=staff["admin"], submit=True)
        store.approve(entry_id, 1, reviewer=staff["reviewer"])
        made.append(entry_id)
        return entry_id

    make.adopt = made.append  # an entry a test made another way, withdrawn with the rest
    yield make
    withdraw(store, staff, made)


def withdraw(store, staff, ids):
    """Leave nothing of ours served or under review: delete what is served, reject the rest."""
    for entry_id in ids:
        record = store.get(entry_id)
        head = store.version(entry_id, record.head_version)
        if record.served_version is not None and record.status != "deleted":
            version = store.request_delete(entry_id, base_version=record.head_version, author=staff["admin"])
            store.approve(entry_id, version.version, reviewer=staff["reviewer"])
        elif head.state in ("draft", "pending"):
            if head.state == "draft":
                store.submit(entry_id, head.version, actor=staff["admin"])
            judge = staff["admin"] if head.author == staff["reviewer"] else staff["reviewer"]
            store.reject(entry_id, head.version, reviewer=judge, comment="test clean-up")


def api(server, method, path, body=None, token=None):
    """(status, JSON body) of one staff API call."""
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{server.http}{path}", data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return res.status, json.loads(res.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def token_of(server, name):
    status, out = api(server, "POST", "/v1/kb/login", {"name": name, "password": PASSWORD})
    assert status == 200, out
    return out["token"]


def open_console(open_page, server, lang="en"):
    page = open_page(f"{server.http}/admin/?lang={lang}")
    page.wait_for_function("() => window.adminConsole && window.adminConsole.ready === true", timeout=20_000)
    return page


def sign_in(page, name, password=PASSWORD):
    page.fill("#login-name", name)
    page.fill("#login-password", password)
    page.click("#login-submit")
    page.wait_for_selector("#app-view", state="visible", timeout=20_000)


def go(page, hash_):
    page.evaluate("h => { location.hash = h; }", hash_)


def open_entry(page, entry_id):
    """Show the entry's newest state (reloaded if it is already open)."""
    before = page.get_attribute("#view-editor", "data-loaded")
    if page.evaluate("location.hash") == f"#/entry/{entry_id}":
        page.click("#e-reload")
    else:
        go(page, f"#/entry/{entry_id}")
    page.wait_for_function("([id, before]) => document.getElementById('e-id').value === id"
                           " && document.getElementById('view-editor').dataset.loaded !== before",
                           arg=[entry_id, before], timeout=20_000)


def review_item(page, entry_id):
    """The entry's change in a freshly loaded review queue."""
    before = page.get_attribute("#review-list", "data-loaded")
    if page.evaluate("location.hash") == "#/review":
        page.click("#review-refresh")
    else:
        go(page, "#/review")
    page.wait_for_function("b => document.getElementById('review-list').dataset.loaded !== b", arg=before,
                           timeout=20_000)
    item = page.locator(f'article.review-item[data-entry="{entry_id}"]')
    item.wait_for(timeout=20_000)
    return item


def wait_flash(page, needle):
    page.wait_for_function("s => document.getElementById('flash').textContent.includes(s)", arg=needle,
                           timeout=20_000)


# ---------------------------------------------------------------- sign-in and roles


def test_admin_redirect_login_error_language_and_viewer(open_page, console, staff):
    page = open_page(f"{console.http}/admin")
    assert page.url.rstrip("/").endswith("/admin") and page.url.endswith("/"), page.url  # /admin → /admin/
    page.wait_for_function("() => window.adminConsole && window.adminConsole.ready === true", timeout=20_000)
    assert page.get_attribute("html", "lang") == "zh-CN" and page.text_content("#login-submit") == "登录"
    page.click("#lang-en")
    assert page.get_attribute("html", "lang") == "en" and page.text_content("#login-submit") == "Sign in"
    assert page.get_attribute("#lang-en", "aria-pressed") == "true"

    page.fill("#login-name", staff["viewer"])
    page.fill("#login-password", "not-the-password")
    page.click("#login-submit")
    page.wait_for_function("() => document.getElementById('login-error').textContent.length > 0", timeout=10_000)
    assert page.text_content("#login-error") == "Wrong user name or password."
    assert page.is_hidden("#app-view")

    # Signing in from the keyboard alone; the focused element then shows a focus ring.
    page.fill("#login-password", "")
    page.focus("#login-name")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("#app-view", state="visible", timeout=20_000)
    assert page.evaluate("JSON.parse(sessionStorage.getItem('dt-admin-session')).role") == "viewer"
    page.keyboard.press("Tab")
    ring = page.evaluate("(() => { const s = getComputedStyle(document.activeElement);"
                         " return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth]; })()")
    assert ring[1] == "solid" and ring[2] == "3px", ring
    page.wait_for_selector("#entries-grid tbody tr", timeout=20_000)
    assert page.is_hidden("#new-entry") and page.is_hidden('.tabs a[data-view="audit"]')
    assert page.locator('#entries-grid tr[data-id="lost-card"] a').text_content() == "View"
    # Filters: status, tag and language narrow the list.
    page.select_option("#f-status", "approved")
    page.wait_for_function("() => [...document.querySelectorAll('#entries-grid tbody tr')].every(r => r.dataset.status === 'approved')")
    page.select_option("#f-tag", "cards")
    page.wait_for_function("() => document.querySelector('#entries-grid tbody tr[data-id=\"lost-card\"]') !== null"
                           " && document.querySelector('#entries-grid tbody tr[data-id=\"opening-hours\"]') === null")
    page.select_option("#f-lang", "no-en")
    assert page.locator("#entries-grid tbody tr").count() == 0  # every demo card entry has English
    page.select_option("#f-lang", "")
    page.fill("#f-q", "挂失")
    page.press("#f-q", "Enter")
    page.wait_for_function("() => document.querySelectorAll('#entries-grid tbody tr').length >= 1"
                           " && document.querySelector('#entries-grid tbody tr[data-id=\"opening-hours\"]') === null")

    page.click('#entries-grid tr[data-id="lost-card"] a')
    page.wait_for_function("() => document.getElementById('e-id').value === 'lost-card'", timeout=20_000)
    assert page.is_hidden("#e-save") and page.is_hidden("#e-save-submit") and page.is_hidden("#e-delete")
    assert page.evaluate("document.getElementById('e-a-en').readOnly") is True
    assert page.locator("#history-grid button").count() == 0  # no rollback for a viewer
    go(page, "#/review")
    page.wait_for_selector("#review-list > *", timeout=20_000)
    assert page.locator("#review-list button.approve").count() == 0

    page.click("#signout")
    page.wait_for_selector("#login-view", state="visible")
    assert page.evaluate("sessionStorage.getItem('dt-admin-session')") is None


# ---------------------------------------------------------------- maker-checker, end to end


SAFE_BOX = {
    "questions": {"zh": ["你们银行可以租保险箱吗", "保管箱怎么租"],
                  "en": ["Can I rent a safe deposit box at your bank", "How do I rent a safe deposit box"]},
    "answer": {"zh": "保管箱业务暂未开通。", "en": "Safe deposit boxes are not offered yet."},
    "tags": ["demo", "accounts"],
}


def ask_customer_page(open_page, server, lang, question, expected):
    page = open_page(f"{server.http}/?lang={lang}")
    page.wait_for_function("() => window.teller && window.teller.state.configured === true", timeout=30_000)
    page.fill("#question", question)
    page.press("#question", "Enter")
    page.wait_for_function("t => document.getElementById('answer-text').textContent === t", arg=expected,
                           timeout=30_000)
    return page


def test_admin_editor_changes_reviewer_approves_customer_hears_it(open_page, console, staff, entries, services):
    entry_id = entries("safe-box", SAFE_BOX)
    new_en = "Safe deposit boxes can be rented at the Shinan branch from 200 yuan a year."
    new_zh = "市南支行提供保管箱租赁，每年两百元起。"

    editor = open_console(open_page, console, "en")
    sign_in(editor, staff["editor"])
    editor.fill("#f-q", entry_id)
    editor.press("#f-q", "Enter")
    editor.click(f'#entries-grid tr[data-id="{entry_id}"] a')
    editor.wait_for_function("id => document.getElementById('e-id').value === id", arg=entry_id, timeout=20_000)
    assert editor.input_value("#e-a-en") == SAFE_BOX["answer"]["en"]
    assert editor.input_value("#e-q-zh") == "\n".join(SAFE_BOX["questions"]["zh"])
    editor.fill("#e-a-en", new_en)
    editor.fill("#e-a-zh", new_zh)
    editor.click("#e-save-submit")
    wait_flash(editor, "v2 submitted for review")
    assert services.kb_store.get(entry_id).status == "pending"
    assert services.kb_store.served(entry_id).answer["en"] == SAFE_BOX["answer"]["en"]  # still the old one

    # The author is not offered the approval; the server refuses it too.
    item = review_item(editor, entry_id)
    assert item.locator(".own-change").is_visible() and item.locator("button.approve:enabled").count() == 0
    status, out = api(console, "POST", f"/v1/kb/entries/{entry_id}/versions/2/approve", {"comment": ""},
                      token_of(console, staff["editor"]))
    assert status == 403, out

    # A reviewer, in another browser context and in Chinese, sees the diff and approves.
    reviewer = open_console(open_page, console, "zh")
    sign_in(reviewer, staff["reviewer"])
    item = review_item(reviewer, entry_id)
    assert "v2 与在用版本 v1 的对比" in item.text_content()
    assert item.locator("ins").all_text_contents() and item.locator("del").all_text_contents()
    inserted, deleted = "".join(item.locator("ins").all_text_contents()), "".join(item.locator("del").all_text_contents())
    assert "Shinan" in inserted and "市南支行" in inserted and "not offered" in deleted, (inserted, deleted)
    assert item.locator("button.approve").is_enabled()
    item.locator("textarea.review-comment").fill("核对无误 / checked")
    item.locator("button.approve").click()
    wait_flash(reviewer, f"已批准 {entry_id} v2")
    assert services.kb_store.served(entry_id).answer == {"zh": new_zh, "en": new_en}

    # The customer page now gives the new answer, in both languages.
    ask_customer_page(open_page, console, "en", "How do I rent a safe deposit box?", new_en)
    ask_customer_page(open_page, console, "zh", "保管箱怎么租？", new_zh)


HOURS = {
    "questions": {"en": ["What does a cashier's cheque cost at the counter"], "zh": ["柜台开本票要多少钱"]},
    "answer": {"en": "A cashier's cheque costs 5 yuan.", "zh": "柜台开本票每张5元。"},
    "tags": ["demo"],
}


def test_admin_reject_history_and_rollback(open_page, console, staff, entries, services):
    store = services.kb_store
    entry_id = entries("cheque-fee", HOURS)
    editor = open_console(open_page, console, "en")
    sign_in(editor, staff["editor"])
    open_entry(editor, entry_id)
    editor.fill("#e-a-en", "A cashier's cheque is free.")
    editor.click("#e-save")  # a draft first, then submitted from the form
    wait_flash(editor, "Saved as a draft (v2)")
    editor.wait_for_selector("#e-submit-head", state="visible")
    editor.click("#e-submit-head")
    wait_flash(editor, "v2 submitted for review")

    reviewer = open_console(open_page, console, "en")
    sign_in(reviewer, staff["reviewer"])
    item = review_item(reviewer, entry_id)
    item.locator("button.reject").click()  # a rejection needs a comment
    assert item.locator(".error").text_content() == "Say what to change when you reject."
    item.locator("textarea.review-comment").fill("The fee is not waived; keep 5 yuan.")
    item.locator("button.reject").click()
    wait_flash(reviewer, f"Rejected {entry_id} v2")

    open_entry(editor, entry_id)
    row = editor.locator('#history-grid tr[data-version="2"]')
    assert row.get_attribute("data-state") == "rejected"
    assert "The fee is not waived; keep 5 yuan." in row.text_content()
    editor.fill("#e-a-en", "A cashier's cheque costs 8 yuan.")
    editor.click("#e-save-submit")
    wait_flash(editor, "v3 submitted for review")
    review_item(reviewer, entry_id).locator("button.approve").click()
    wait_flash(reviewer, f"Approved {entry_id} v3")

    # History: every version, a diff between two of them, rollback to the first.
    open_entry(reviewer, entry_id)
    states = reviewer.eval_on_selector_all("#history-grid tbody tr", "rs => rs.map(r => r.dataset.state)")
    assert states == ["approved", "rejected", "approved"], states  # newest first
    reviewer.select_option("#h-from", "1")
    reviewer.select_option("#h-to", "3")
    reviewer.click("#h-diff")
    assert "5" in "".join(reviewer.locator("#h-diff-out del").all_text_contents())
    assert "8" in "".join(reviewer.locator("#h-diff-out ins").all_text_contents())
    reviewer.click('#history-grid button[data-rollback="1"]')
    wait_flash(reviewer, "Rollback to v1 proposed (new version v4")
    assert store.get(entry_id).served_version == 3  # a rollback is a change like any other: reviewed first

    # The reviewer wrote the rollback, so someone else must decide; the server refuses a self-approval.
    item = review_item(reviewer, entry_id)
    assert "Rollback: restores the content of v1." in item.text_content()
    assert item.locator("button.approve").is_disabled()
    status, out = api(console, "POST", f"/v1/kb/entries/{entry_id}/versions/4/approve", {"comment": ""},
                      token_of(console, staff["reviewer"]))
    assert status == 403 and "another reviewer" in out["detail"], out
    admin = open_console(open_page, console, "en")
    sign_in(admin, staff["admin"])
    review_item(admin, entry_id).locator("button.approve").click()
    wait_flash(admin, f"Approved {entry_id} v4")
    assert store.get(entry_id).served_version == 4
    assert store.served(entry_id).answer["en"] == HOURS["answer"]["en"]


def test_admin_create_entry_validation_and_stale_edit(open_page, console, staff, entries, services):
    store = services.kb_store
    entry_id = f"ac-new-{secrets.token_hex(3)}"
    page = open_console(open_page, console, "en")
    sign_in(page, staff["editor"])
    page.click("#new-entry")
    page.wait_for_selector("#view-editor", state="visible")
    assert page.text_content("#editor-title") == "New entry" and page.is_hidden("#history")
    page.fill("#e-id", "Not A Valid Id")
    page.fill("#e-q-en", "Is there a coin counting machine\nCan I count coins")
    page.fill("#e-a-en", "Yes, in the lobby of every branch.")
    page.click("#e-save")
    page.wait_for_function("() => document.getElementById('e-error').textContent.includes('422')", timeout=20_000)
    assert "id" in page.text_content("#e-error")

    entries.adopt(entry_id)
    page.fill("#e-id", entry_id)
    page.fill("#e-q-zh", "有数硬币的机器吗")
    page.fill("#e-a-zh", "每个网点大厅都有。")
    page.fill("#e-tags", "demo, branches")
    page.click("#e-save")
    wait_flash(page, "Saved as a draft (v1)")
    page.wait_for_selector("#e-submit-head", state="visible")
    assert page.url.endswith(f"#/entry/{entry_id}")
    saved = store.version(entry_id, 1)
    assert saved.state == "draft" and saved.author == staff["editor"]
    assert saved.entry.questions == {"en": ("Is there a coin counting machine", "Can I count coins"),
                                     "zh": ("有数硬币的机器吗",)}
    assert saved.entry.answer["zh"] == "每个网点大厅都有。" and saved.entry.tags == ("demo", "branches")

    # Someone else changes the entry meanwhile: saving on the old version is refused, not lost silently.
    store.update(saved.entry, base_version=1, author=staff["admin"])
    page.fill("#e-a-en", "Yes, in every branch lobby.")
    page.click("#e-save-submit")
    page.wait_for_function("() => document.getElementById('e-error').textContent.includes('409')", timeout=20_000)
    assert "open it again" in page.text_content("#e-error")
    assert store.get(entry_id).head_version == 2
