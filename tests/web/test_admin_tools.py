"""The staff console's tools in real headless Chromium: knowledge content with markup is shown as
text in every view, test a question, the gaps report, the audit log and its chain check, import
(all or nothing, row errors shown) and export."""

from __future__ import annotations

import json
import secrets
import urllib.request
from pathlib import Path

from tests.web import test_admin_console as base
from tests.web.test_admin_console import (
    api,
    go,
    open_console,
    open_entry,
    review_item,
    sign_in,
    token_of,
)
from tests.web.test_web_customer_clarify import AMBIGUOUS

console, staff = base.console, base.staff  # the same fixtures, one instance per module

IMG = '<img src=x onerror="window.__xss=1">'
SCRIPT = "<script>window.__xss=2</script>"

NO_MARKUP_RAN = """() => ({
  xss: window.__xss,
  imgs: document.querySelectorAll('main img').length,
  scripts: document.querySelectorAll('main script').length,
})"""


def assert_inert(page):
    state = page.evaluate(NO_MARKUP_RAN)
    assert state == {"xss": None, "imgs": 0, "scripts": 0}, state


def test_admin_content_is_text_never_html(open_page, console, staff, services):
    question_en = f"{IMG} how do I polish the vault door"
    editor_token = token_of(console, staff["editor"])
    entry_id = f"ac-xss-{secrets.token_hex(3)}"
    body = {"id": entry_id, "questions": {"en": [question_en, f"{SCRIPT} vault door polish"], "zh": [f"{IMG}金库门怎么擦"]},
            "answer": {"en": f"{IMG} Use a soft cloth. {SCRIPT}", "zh": f"{IMG}用软布擦。"},
            "disclosure": {"en": "<b>not bold</b>", "zh": "<i>不是斜体</i>"}, "tags": ["demo"]}
    status, out = api(console, "POST", "/v1/kb/entries", {"entry": body, "submit": True}, editor_token)
    assert status == 201, out
    status, out = api(console, "POST", f"/v1/kb/entries/{entry_id}/versions/1/approve", {"comment": IMG},
                      token_of(console, staff["reviewer"]))
    assert status == 200, out
    changed = {**body, "answer": {**body["answer"], "en": f"{SCRIPT} Use a dry cloth. {IMG}"}}
    status, out = api(console, "PUT", f"/v1/kb/entries/{entry_id}",
                      {"entry": changed, "base_version": 1, "submit": True}, editor_token)
    assert status == 200, out
    try:
        page = open_console(open_page, console, "en")
        sign_in(page, staff["admin"])
        # The list.
        page.fill("#f-q", entry_id)
        page.press("#f-q", "Enter")
        row = page.locator(f'#entries-grid tr[data-id="{entry_id}"]')
        row.wait_for(timeout=20_000)
        assert IMG in row.text_content() and f"{IMG}金库门怎么擦" in row.text_content()
        assert_inert(page)
        # The editor form.
        open_entry(page, entry_id)
        assert page.input_value("#e-a-en") == changed["answer"]["en"]
        assert page.input_value("#e-q-en").split("\n")[0] == question_en
        assert page.input_value("#e-d-en") == "<b>not bold</b>"
        assert_inert(page)
        # History: the review comment and a diff between the versions.
        assert IMG in page.locator('#history-grid tr[data-version="1"]').text_content()
        page.select_option("#h-from", "1")
        page.select_option("#h-to", "2")
        page.click("#h-diff")
        diff = page.text_content("#h-diff-out")
        assert SCRIPT in diff and IMG in diff, diff
        assert_inert(page)
        # The review queue's diff against the served version.
        item = review_item(page, entry_id)
        assert SCRIPT in "".join(item.locator("ins").all_text_contents())
        assert IMG in item.text_content()
        assert_inert(page)
        # Test a question: the matched example question comes back as text.
        go(page, "#/test")
        page.fill("#test-q", question_en)
        page.click("#test-go")
        cell = page.locator(f'#test-grid tr[data-entry="{entry_id}"] td.matched')
        cell.wait_for(timeout=30_000)
        assert IMG in cell.text_content()
        assert_inert(page)
        # The audit log holds the entry bodies; their details are text too.
        go(page, "#/audit")
        page.fill("#audit-subject", f"entry:{entry_id}@1")
        page.click("#audit-load")
        page.wait_for_selector('#audit-grid tr[data-action="entry.create"]', timeout=20_000)
        page.locator('#audit-grid tr[data-action="entry.create"] summary').click()
        assert "<img src=x onerror=" in page.locator('#audit-grid tr[data-action="entry.create"] pre').text_content()
        assert_inert(page)
    finally:
        store = services.kb_store
        version = store.request_delete(entry_id, base_version=2, author=staff["admin"])
        store.approve(entry_id, version.version, reviewer=staff["reviewer"])


def test_admin_test_question_gaps_and_audit(open_page, console, staff):
    # An unanswerable question becomes a knowledge gap.
    odd = f"Do you insure goldfish on Mars {secrets.token_hex(2)}"
    req = urllib.request.Request(f"{console.http}/v1/ask", data=json.dumps({"text": odd, "language": "en"}).encode(),
                                 headers={"Content-Type": "application/json", "Origin": console.http})
    with urllib.request.urlopen(req, timeout=60) as res:
        assert json.loads(res.read())["handoff"] is True
    # A question the teller had to clarify is a gap too, shown with the entries it offered.
    clarified = None
    for question in AMBIGUOUS["en"]:
        req = urllib.request.Request(f"{console.http}/v1/ask", data=json.dumps({"text": question, "language": "en"}).encode(),
                                     headers={"Content-Type": "application/json", "Origin": console.http})
        with urllib.request.urlopen(req, timeout=60) as res:
            reply = json.loads(res.read())
        if reply["kind"] == "clarify":
            clarified = (question, [o["id"] for o in reply["clarify"]])
            break
    assert clarified, "no ambiguous question was clarified"

    page = open_console(open_page, console, "zh")
    sign_in(page, staff["admin"])
    go(page, "#/test")
    page.fill("#test-q", "银行卡丢了怎么办")
    page.press("#test-q", "Enter")
    page.wait_for_selector("#test-grid tbody tr", timeout=30_000)
    first = page.locator("#test-grid tbody tr").first
    assert first.get_attribute("data-entry") == "lost-card"
    assert first.get_attribute("class") == "chosen" and first.locator("td").last.text_content() == "是"
    scores = [float(s) for s in page.locator("#test-grid td.score").all_text_contents()]
    assert len(scores) == 5 and scores == sorted(scores, reverse=True), scores

    go(page, "#/gaps")
    page.wait_for_selector("#gaps-questions tbody tr", timeout=20_000)
    assert odd in page.text_content("#gaps-questions")
    row = page.locator("#gaps-questions tbody tr", has_text=clarified[0]).first
    offered = row.locator("td.offered").text_content()
    assert all(f"{entry_id} ×" in offered for entry_id in clarified[1]), offered
    assert page.is_visible("#gaps-entries")

    go(page, "#/audit")
    page.wait_for_selector("#audit-grid tbody tr", timeout=20_000)
    seqs = [int(s) for s in page.eval_on_selector_all("#audit-grid tbody tr", "rs => rs.map(r => r.dataset.seq)")]
    assert seqs == sorted(seqs, reverse=True)  # newest first
    page.click("#audit-verify")
    page.wait_for_selector('#audit-verify-out[data-ok="true"]', timeout=30_000)
    assert "哈希链完好" in page.text_content("#audit-verify-out")
    page.click("#lang-en")  # the tables follow the language switch without a reload
    assert "Audit records" in page.text_content("#audit-grid caption")


def test_admin_import_all_or_nothing_and_export(open_page, console, staff, services, tmp_path):
    store = services.kb_store
    good = f"ac-import-{secrets.token_hex(3)}"
    rows = [
        {"id": good, "questions": {"en": ["Can I import this"]}, "answer": {"en": "Yes."}, "tags": ["demo"]},
        {"id": "Bad Id!", "questions": {"en": ["Broken row"]}, "answer": {"en": "No."}},
        {"id": f"{good}-2", "questions": {"en": ["No answer here"]}, "answer": {"en": "   "}},
    ]
    upload = tmp_path / "new-entries.jsonl"
    upload.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")

    page = open_console(open_page, console, "en")
    sign_in(page, staff["editor"])
    go(page, "#/transfer")
    assert page.is_hidden("#import-approve")  # publishing at once is for admins only
    page.set_input_files("#import-file", str(upload))
    page.click("#import-button")
    page.wait_for_selector("#import-error-list li", timeout=20_000)
    errors = page.locator("#import-error-list li").all_text_contents()
    assert len(errors) == 2 and errors[0].startswith("line 2") and errors[1].startswith("line 3"), errors
    assert "answer.en" in errors[1]
    assert "nothing was written" in page.text_content("#import-errors")
    assert not store.list_entries(text=good)  # all or nothing: the good row was not written either

    with page.expect_download(timeout=20_000) as info:
        page.click("#export-jsonl")
    download = info.value
    assert download.suggested_filename.endswith(".jsonl")
    text = Path(download.path()).read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert len(lines) == len(store.served_entries()) and any(e["id"] == "lost-card" for e in lines)
    page.wait_for_function("() => document.getElementById('export-status').textContent.includes('downloaded')")
