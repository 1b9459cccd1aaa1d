"""The ledger checks that run in the browser (sesame/static/ledger.js) against published known answers, and the
explorer page against a live log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import PASSWORD, PageProblems, Server, axe_violations, new_phone, screenshot
from tests.conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

VECTORS = ROOT.parent / "shared" / "vectors"

RUN_VECTORS = """async ({ inclusion, consistency, note }) => {
  const L = await import("/static/ledger.js");
  const outcome = async (f) => { try { await f(); return "ok"; } catch (e) { return "error: " + e.message; } };
  const b = L.b64decode;
  const inc = [];
  for (const v of inclusion) {
    inc.push(await outcome(() => L.verifyInclusion(b(v.leafHash), v.leafIdx, v.treeSize, (v.proof || []).map(b), b(v.root))));
  }
  const con = [];
  for (const v of consistency) {
    con.push(await outcome(() => L.verifyConsistency(v.size1, v.size2, (v.proof || []).map(b), b(v.root1), b(v.root2))));
  }
  const signed = L.parseNote(note.signed_note);
  const good = await outcome(() => L.verifyNoteSignature(signed, note.vkey));
  const tampered = L.parseNote(note.signed_note.replace("answer", "ANSWER"));
  const bad = await outcome(() => L.verifyNoteSignature(tampered, note.vkey));
  const keyId = L.hex(L.parseVkey(note.vkey).keyHash);
  return { inc, con, good, bad, keyId };
}"""


def _vectors(kind: str) -> list[dict[str, Any]]:
    files = sorted((VECTORS / "rfc9162" / kind).rglob("*.json"))
    return [json.loads(f.read_text()) for f in files]


def test_ledger_js_agrees_with_the_published_vectors(browser: Any, server: Server) -> None:
    if not VECTORS.exists():
        pytest.skip(f"the shared test vectors are not at {VECTORS}")
    inclusion, consistency = _vectors("inclusion"), _vectors("consistency")
    note = json.loads((VECTORS / "signed-note" / "ed25519-peterneumann.json").read_text())
    context = new_phone(browser)
    page = context.new_page()
    page.goto(server.url("/ledger"))
    result = page.evaluate(RUN_VECTORS, {"inclusion": inclusion, "consistency": consistency, "note": note})
    for vector, outcome in zip(inclusion, result["inc"], strict=True):
        assert (outcome != "ok") == vector["wantErr"], (vector["desc"], outcome)
    for vector, outcome in zip(consistency, result["con"], strict=True):
        assert (outcome != "ok") == vector["wantErr"], (vector["desc"], outcome)
    assert result["good"] == "ok" and result["bad"].startswith("error")
    assert result["keyId"] == note["key_id_hex"]
    context.close()


def test_ledger_js_proves_python_made_trees(browser: Any, server: Server) -> None:
    """Every inclusion and consistency proof of trees of 1 to 17 leaves, made by ``ledger``, verifies in JS."""
    from ledger import consistency_proof, inclusion_proof, leaf_hash, root_from_leaf_hashes

    cases: list[dict[str, Any]] = []
    leaves = [leaf_hash(f"leaf {i}".encode()) for i in range(17)]

    def get(start: int, end: int) -> bytes:
        return root_from_leaf_hashes(leaves[start:end])

    import base64

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    for size in range(1, 18):
        root = b64(root_from_leaf_hashes(leaves[:size]))
        for index in range(size):
            proof = [b64(h) for h in inclusion_proof(index, size, get)]
            cases.append(
                {
                    "kind": "inc",
                    "leaf": b64(leaves[index]),
                    "index": index,
                    "size": size,
                    "proof": proof,
                    "root": root,
                }
            )
        for first in range(1, size + 1):
            proof = [b64(h) for h in consistency_proof(first, size, get)]
            root1 = b64(root_from_leaf_hashes(leaves[:first]))
            cases.append(
                {"kind": "con", "first": first, "size": size, "proof": proof, "root1": root1, "root": root}
            )
    context = new_phone(browser)
    page = context.new_page()
    page.goto(server.url("/ledger"))
    failures = page.evaluate(
        """async (cases) => {
          const L = await import("/static/ledger.js");
          const b = L.b64decode;
          const bad = [];
          for (const c of cases) {
            try {
              if (c.kind === "inc") await L.verifyInclusion(b(c.leaf), c.index, c.size, c.proof.map(b), b(c.root));
              else await L.verifyConsistency(c.first, c.size, c.proof.map(b), b(c.root1), b(c.root));
            } catch (e) { bad.push([c, e.message]); }
          }
          return bad;
        }""",
        cases,
    )
    assert failures == []
    context.close()


def _file_a_company(server: Server) -> None:
    """A company registered through the JSON API: two ledger leaves (the filing) exist afterwards."""
    with httpx.Client(base_url=server.base_url, timeout=30) as api:
        api.post(
            "/api/v1/accounts", json={"kind": "company", "email": "ledger@company.test", "password": PASSWORD}
        )
        token = api.post(
            "/api/v1/auth/token", json={"email": "ledger@company.test", "password": PASSWORD}
        ).json()
        api.post(
            "/api/v1/companies",
            headers={"Authorization": f"Bearer {token['access_token']}"},
            json={
                "legal_name": "Coopérative du Registre",
                "country": "FR",
                "registration_scheme": "siren",
                "registration_id": "552100554",
                "founding_date": "1999-01-05",
                "tax_residence": "FR",
                "sector": "47.11",
                "registered_address": "1 place de la Bourse, Lyon",
            },
        )


def test_the_explorer_verifies_an_entry_in_the_page(browser: Any, server: Server, tmp_path: Path) -> None:
    _file_a_company(server)
    context = new_phone(browser)
    page = context.new_page()
    problems = PageProblems(page)
    page.goto(server.url("/ledger"))
    page.locator("#checkpoint[data-verified]").wait_for(timeout=15_000)
    assert page.locator("#checkpoint").get_attribute("data-verified") == "verified", page.locator(
        "#cp-status"
    ).inner_text()
    page.locator("#entry-index").fill("0")
    page.get_by_role("button", name="Vérifier").click()
    page.locator("#entry-result[data-verified]").wait_for(timeout=15_000)
    result = page.locator("#entry-result")
    assert result.get_attribute("data-verified") == "true", result.inner_text()
    assert (
        "disclosure.filed" in result.inner_text()
        or "L’entrée 0 est bien dans le registre" in result.inner_text()
    )
    assert not axe_violations(page)
    screenshot(page, "public-ledger-entry")
    # Next visit: the page proves the log only grew since the checkpoint this browser remembered.
    page.reload()
    page.locator("#checkpoint[data-verified]").wait_for(timeout=15_000)
    assert (
        "réécrit" in page.locator("#cp-history").inner_text()
        or "Même point" in page.locator("#cp-history").inner_text()
    )
    problems.assert_clean()
    context.close()
