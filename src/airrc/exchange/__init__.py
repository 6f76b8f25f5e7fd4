"""Exchange: reports of malicious AI use shared across borders under per-partner policy (STIX 2.1, TAXII 2.1)."""
