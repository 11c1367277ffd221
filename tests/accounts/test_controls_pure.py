"""What an account may send, decided before anything is held (pure)."""

from __future__ import annotations

from engine.accounts.batch import Batch, cover_wave
from engine.accounts.commands import ReserveWave
from engine.accounts.controls import AccountControls, refusal
from engine.actor import Reply
from engine.dispatch.message import OutMessage
from engine.model import AccountId, AccountType, Billing, Ledger, MessageId, SendRef
from engine.store.writes import WaveRecord
from engine.text import encode_message, parse_sender


def _wave(count: int) -> ReserveWave:
    sender, encoded = parse_sender("BANQUE"), encode_message("Rappel", 0)
    messages = tuple(
        OutMessage(MessageId(n), AccountId(1), SendRef(7), f"+2410612345{n}", sender, encoded)
        for n in range(count)
    )

    def record(covered: int) -> WaveRecord:
        return WaveRecord(SendRef(7), "2031-03-10T08:00:00+01:00", count, covered, "", covered,
                          "2031-03-10", covered, "EN_COURS", {}, False)

    return ReserveWave(SendRef(7), messages, Billing.PREPAYE, 1, record, Reply())


def test_a_suspended_accounts_wave_releases_and_reserves_nothing() -> None:
    batch = Batch(Ledger(type=AccountType.PREPAYE, solde=10))
    write = cover_wave(batch, _wave(3), active=False)
    assert write.message_ids == () and write.record.lances == 0
    assert batch.ledger.solde == 10 and batch.entries == []
    active = cover_wave(Batch(Ledger(type=AccountType.PREPAYE, solde=10)), _wave(3))
    assert len(active.message_ids) == 3


def test_suspension_comes_before_sender_names_and_names_match_any_spelling() -> None:
    bank = parse_sender("BANQUE")
    assert refusal(AccountControls(), bank) is None
    suspended = refusal(AccountControls(actif=False, emetteurs=("BANQUE",)), bank)
    assert suspended is not None and suspended.code == "COMPTE_SUSPENDU"
    listed = AccountControls(emetteurs=("BANQUE", "+241 06 00 00 00"))
    assert refusal(listed, bank) is None
    assert refusal(listed, parse_sender("+24106000000")) is None
    other = refusal(listed, parse_sender("AUTRE"))
    assert other is not None and other.code == "EMETTEUR_NON_AUTORISE"
    assert [f.field for f in other.faults] == ["emetteur"]
    required = refusal(AccountControls(senders_required=True), bank)
    assert required is not None and required.code == "EMETTEUR_NON_AUTORISE"
