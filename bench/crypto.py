"""Hybrid signatures (Ed25519 + ML-DSA-65) and HPKE sealing (ML-KEM-768 + X25519): operations per second.

Reference points measured in the same run: Ed25519 alone and ML-DSA-65 alone from the same library.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _results import write_section
from airrc.crypto.keys import NodeIdentity
from airrc.crypto.sealing import open_sealed, seal

PAYLOAD = b"x" * 1024
DOMAIN = "airrc/bench/v1"


def rate(fn: Callable[[], object], seconds: float = 1.5) -> float:
    fn()
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn()
        count += 1
    return count / elapsed


def main() -> None:
    sender, recipient = NodeIdentity.generate(), NodeIdentity.generate()
    signer = sender.signer
    verifier = signer.verifier
    signature = signer.sign(DOMAIN, PAYLOAD)
    ed_sig = sender.ed25519_key.sign(PAYLOAD)
    pq_sig = sender.mldsa_key.sign(PAYLOAD)
    body = {"text": "x" * 1024}
    sealed = seal(
        body, sender=sender, sender_id="a" * 64, recipients={"b" * 64: recipient.public_keys()}, kind="k.k"
    )

    def open_one() -> object:
        return open_sealed(
            sealed,
            recipient=recipient,
            recipient_id="b" * 64,
            sender_id="a" * 64,
            sender_verifier=verifier,
            kind="k.k",
            max_bytes=1 << 20,
        )

    rows = [
        ("hybrid sign (1 KiB)", rate(lambda: signer.sign(DOMAIN, PAYLOAD))),
        ("hybrid verify (1 KiB)", rate(lambda: verifier.verify(DOMAIN, PAYLOAD, signature))),
        (
            "seal to 1 recipient (1 KiB body, signed inside)",
            rate(
                lambda: seal(
                    body,
                    sender=sender,
                    sender_id="a" * 64,
                    recipients={"b" * 64: recipient.public_keys()},
                    kind="k.k",
                )
            ),
        ),
        ("open (HPKE + inner signature check)", rate(open_one)),
        ("reference: Ed25519 sign alone", rate(lambda: sender.ed25519_key.sign(PAYLOAD))),
        (
            "reference: Ed25519 verify alone",
            rate(lambda: sender.ed25519_key.public_key().verify(ed_sig, PAYLOAD)),
        ),
        ("reference: ML-DSA-65 sign alone", rate(lambda: sender.mldsa_key.sign(PAYLOAD))),
        (
            "reference: ML-DSA-65 verify alone",
            rate(lambda: sender.mldsa_key.public_key().verify(pq_sig, PAYLOAD)),
        ),
    ]
    table = "| operation | per second |\n|---|---:|\n" + "\n".join(
        f"| {name} | {ops:,.0f} |" for name, ops in rows
    )
    print(table)
    write_section(
        "crypto", table + "\n\nNo targets are set for these; they size the federation and ledger work."
    )


if __name__ == "__main__":
    main()
