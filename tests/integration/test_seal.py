"""Sealing the journal into the Merkle log: signed heads, inclusion and consistency proofs.

Every proof the database-backed log serves is checked with the standalone verifier in
tools/ (standard library only), exactly as a member of the public would.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import importlib.util
import json
import uuid
from datetime import UTC
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.domain.due_work import run_due_work
from app.ledger import TAG_SCOPE, AccountFlags, Entry, InvalidEntry, Ledger, seal
from app.ledger.signing import TreeSigner
from app.sql.types import utcnow
from tests.support.signing import SIGNER, SIGNING_KEY

TOOL_PATH = Path(__file__).resolve().parents[2] / "tools" / "verify_ledger_proof.py"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_ledger_proof_seal", TOOL_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOOL = _tool()
KEY = {"algorithm": "ed25519", "public_key": SIGNER.public_key_b64}


async def make_entries(database: Database, count: int) -> list[uuid.UUID]:
    owner = uuid.uuid4().hex

    async def work(session: AsyncSession) -> list[uuid.UUID]:
        ledger = Ledger(session)
        world = await ledger.open_account(code="world", currency="USD", owner_ref=owner, shards=2)
        wallet = await ledger.open_account(
            code="wallet",
            currency="USD",
            owner_ref=owner,
            flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
        )
        ids = []
        for amount in range(1, count + 1):
            entry = await ledger.transfer(
                entry_id=uuid.uuid4(),
                debit_account_id=world.id,
                credit_account_id=wallet.id,
                amount=amount,
                kind="deposit",
                meta={"memo": f"secret memo {owner}"},
            )
            ids.append(entry.id)
        return ids

    return await database.transaction(work)


async def seal_all(database: Database) -> int:
    return await database.transaction(
        lambda session: seal.seal_pending(session, SIGNER, now=utcnow())
    )


def _head_dict(head: seal.TreeHead) -> dict[str, object]:
    return {
        "tree_size": head.tree_size,
        "root_hash": head.root_hash,
        "timestamp": head.timestamp,
        "signature": head.signature,
    }


async def test_sealed_entries_have_inclusion_proofs_under_a_signed_head(
    database: Database,
) -> None:
    ids = await make_entries(database, 5)
    assert await seal_all(database) == 5
    assert await seal_all(database) == 0
    async with database.read() as session:
        head = await seal.latest_tree_head(session)
        assert head is not None
        proofs = [await seal.inclusion_proof(session, entry_id) for entry_id in ids]
    TOOL.check_tree_head(_head_dict(head), KEY)
    assert head.tree_size == 5
    for index, proof in enumerate(proofs):
        assert proof.leaf_index == index
        TOOL.check_inclusion(proof.__dict__, _head_dict(head))
        leaf = json.loads(proof.leaf)
        assert leaf["entry_id"] == str(ids[index])
        assert "secret memo" not in proof.leaf
        assert all("account_id" not in posting for posting in leaf["postings"])


async def test_later_heads_are_consistent_with_earlier_ones(database: Database) -> None:
    await make_entries(database, 3)
    await seal_all(database)
    async with database.read() as session:
        first = await seal.latest_tree_head(session)
    for count in (1, 4, 2):
        await make_entries(database, count)
        await seal_all(database)
    async with database.read() as session:
        second = await seal.latest_tree_head(session)
        assert first is not None
        assert second is not None
        proof = await seal.consistency_proof(session, first.tree_size, second.tree_size)
        middle = await seal.tree_head_at(session, 4)
    assert second.tree_size == 10
    assert middle is not None
    TOOL.check_consistency(
        {"first": 3, "second": 10, "proof": proof}, _head_dict(first), _head_dict(second)
    )
    forged = dict(_head_dict(first), root_hash="00" * 32)
    with pytest.raises(TOOL.Invalid):
        TOOL.check_consistency(
            {"first": 3, "second": 10, "proof": proof}, forged, _head_dict(second)
        )


async def test_proofs_for_unsealed_entries_and_unknown_sizes_are_refused(
    database: Database,
) -> None:
    [entry_id] = await make_entries(database, 1)
    async with database.read() as session:
        with pytest.raises(seal.NotSealed):
            await seal.inclusion_proof(session, entry_id)
    await seal_all(database)
    async with database.read() as session:
        with pytest.raises(seal.NotSealed):
            await seal.inclusion_proof(session, entry_id, tree_size_at=2)
        with pytest.raises(seal.NotSealed):
            await seal.consistency_proof(session, 1, 2)


async def test_concurrent_sealers_seal_each_entry_once(database: Database) -> None:
    ids = await make_entries(database, 60)
    counts = await asyncio.gather(*(seal_all(database) for _ in range(3)))
    while await seal_all(database):
        pass
    async with database.read() as session:
        head = await seal.latest_tree_head(session)
        indices = {(await seal.inclusion_proof(session, i)).leaf_index for i in ids}
    assert sum(counts) <= 60
    assert head is not None
    assert head.tree_size == 60
    assert indices == set(range(60))


async def test_due_work_seals_with_the_configured_key(database: Database) -> None:
    await make_entries(database, 2)
    report = await run_due_work(database, signer=SIGNER)
    assert report.processed["sealing"] == 2
    async with database.read() as session:
        head = await seal.latest_tree_head(session)
    assert head is not None
    assert base64.b64decode(head.signature)
    TOOL.check_tree_head(_head_dict(head), KEY)


def _leaf_tags(proof: seal.InclusionProof) -> list[str]:
    return [posting["account_tag"] for posting in json.loads(proof.leaf)["postings"]]


async def test_entries_naming_a_tag_scope_share_account_tags_only_within_it(
    database: Database,
) -> None:
    owner = uuid.uuid4().hex
    ids = {name: uuid.uuid4() for name in ("open", "scoped", "held", "posted", "other")}

    async def work(session: AsyncSession) -> None:
        ledger = Ledger(session)
        world = await ledger.open_account(code="world", currency="USD", owner_ref=owner)
        wallet, pot = [
            await ledger.open_account(
                code=code,
                currency="USD",
                owner_ref=owner,
                flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
            )
            for code in ("wallet", "pot")
        ]
        move = {"debit_account_id": wallet.id, "credit_account_id": pot.id, "amount": 10}
        await ledger.transfer(
            entry_id=ids["open"],
            debit_account_id=world.id,
            credit_account_id=wallet.id,
            amount=100,
            kind="deposit",
        )
        await ledger.transfer(entry_id=ids["scoped"], kind="t", meta={TAG_SCOPE: "a"}, **move)
        await ledger.hold(entry_id=ids["held"], kind="h", meta={TAG_SCOPE: "a"}, **move)
        await ledger.post_pending(entry_id=ids["posted"], pending_id=ids["held"], amount=4)
        await ledger.transfer(entry_id=ids["other"], kind="t", meta={TAG_SCOPE: "b"}, **move)

    await database.transaction(work)
    await seal_all(database)
    async with database.read() as session:
        tags = {name: _leaf_tags(await seal.inclusion_proof(session, i)) for name, i in ids.items()}
        posted = await Ledger(session).get_entry(ids["posted"])
    assert posted is not None
    assert posted.meta == {TAG_SCOPE: "a"}  # a post moves its hold's accounts: same scope
    wallet = tags["open"][1]
    assert tags["scoped"] == tags["held"] == tags["posted"]  # one scope: the same accounts
    assert wallet not in tags["scoped"] + tags["other"]
    assert not set(tags["scoped"]) & set(tags["other"])
    assert len(set(tags["scoped"])) == len(set(tags["other"])) == 2


@pytest.mark.parametrize("scope", [5, "", "x" * 201, ["a"]])
async def test_a_malformed_tag_scope_is_refused_and_writes_nothing(
    database: Database, scope: object
) -> None:
    entry_id = uuid.uuid4()

    async def work(session: AsyncSession) -> None:
        ledger = Ledger(session)
        world = await ledger.open_account(code="world", currency="USD", owner_ref="x", shards=2)
        wallet = await ledger.open_account(code="wallet", currency="USD", owner_ref="x")
        await ledger.transfer(
            entry_id=entry_id,
            debit_account_id=world.id,
            credit_account_id=wallet.id,
            amount=1,
            kind="deposit",
            meta={TAG_SCOPE: scope},
        )

    with pytest.raises(InvalidEntry, match=TAG_SCOPE):
        await database.transaction(work)
    async with database.read() as session:
        assert await Ledger(session).get_entry(entry_id) is None


def test_the_tag_key_is_a_secret_of_the_seed_shared_by_every_process() -> None:
    again = TreeSigner.from_base64(SIGNING_KEY)
    other = TreeSigner(bytes(range(32)))
    assert again.account_tag_key == SIGNER.account_tag_key != other.account_tag_key
    public = SIGNER.public_key
    assert SIGNER.account_tag_key not in (
        public,
        hashlib.sha256(public).digest(),
        hashlib.sha256(b"tributary-account-tag\x00" + public).digest(),
    )


def _first_format_leaf(entry: Entry, signer: TreeSigner) -> str:
    """A leaf exactly as the first release sealed it (no leaf_version, tags keyed by a hash
    of the public key)."""
    key = hashlib.sha256(b"tributary-account-tag\x00" + signer.public_key).digest()
    meta = json.dumps(entry.meta, sort_keys=True, separators=(",", ":"), default=str)
    public = {
        "entry_id": str(entry.id),
        "kind": entry.kind,
        "phase": entry.phase.value,
        "resolves_id": str(entry.resolves_id) if entry.resolves_id else None,
        "created_at": entry.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "meta_sha256": hashlib.sha256(meta.encode("utf-8")).hexdigest(),
        "postings": [
            {
                "account_tag": hmac.new(key, p.account_id.bytes, hashlib.sha256).hexdigest()[:32],
                "currency": p.currency,
                "debit": p.debit,
                "credit": p.credit,
            }
            for p in entry.postings
        ],
    }
    return json.dumps(public, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


async def test_leaves_sealed_in_the_first_format_stay_verifiable_after_the_upgrade(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(seal, "canonical_leaf", _first_format_leaf)
    old = await make_entries(database, 3)
    await seal_all(database)
    async with database.read() as session:
        old_head = await seal.latest_tree_head(session)
        old_leaves = {i: (await seal.inclusion_proof(session, i)).leaf for i in old}
    monkeypatch.undo()
    new = await make_entries(database, 4)
    await seal_all(database)
    async with database.read() as session:
        head = await seal.latest_tree_head(session)
        proofs = {i: await seal.inclusion_proof(session, i) for i in old + new}
        assert old_head is not None
        assert head is not None
        consistency = await seal.consistency_proof(session, old_head.tree_size, head.tree_size)
    for entry_id, proof in proofs.items():
        TOOL.check_inclusion(proof.__dict__, _head_dict(head))
        version = json.loads(proof.leaf).get("leaf_version")
        if entry_id in old_leaves:
            assert (proof.leaf, version) == (old_leaves[entry_id], None)  # never rewritten
        else:
            assert version == seal.LEAF_VERSION == 2
    TOOL.check_consistency(
        {"first": old_head.tree_size, "second": head.tree_size, "proof": consistency},
        _head_dict(old_head),
        _head_dict(head),
    )
